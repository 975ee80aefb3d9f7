<?xml version="1.0" encoding="UTF-8"?>
<!-- Reads file:///etc/passwd with document(): refused. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <leak><xsl:copy-of select="document('file:///etc/passwd')"/></leak>
  </xsl:template>
</xsl:stylesheet>
