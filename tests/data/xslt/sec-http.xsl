<?xml version="1.0" encoding="UTF-8"?>
<!-- Reads http://127.0.0.1:1/ with document(): refused. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <leak><xsl:copy-of select="document('http://127.0.0.1:1/')"/></leak>
  </xsl:template>
</xsl:stylesheet>
