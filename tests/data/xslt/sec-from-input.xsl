<?xml version="1.0" encoding="UTF-8"?>
<!-- Reads the document the input names: the partner chooses the URI, the folder still holds. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <leak><xsl:copy-of select="document(/fetch/@href)"/></leak>
  </xsl:template>
</xsl:stylesheet>
