<?xml version="1.0" encoding="UTF-8"?>
<!-- Reads ../samples/ubl-invoice-example1.xml with document(): refused. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <leak><xsl:copy-of select="document('../samples/ubl-invoice-example1.xml')"/></leak>
  </xsl:template>
</xsl:stylesheet>
