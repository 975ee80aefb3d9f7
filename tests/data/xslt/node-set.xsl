<?xml version="1.0" encoding="UTF-8"?>
<!-- exsl:node-set over a result tree fragment: the XSLT 1.0 idiom for two-pass mappings. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:exsl="http://exslt.org/common" exclude-result-prefixes="exsl">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:template match="/">
    <xsl:variable name="sorted">
      <xsl:for-each select="//v"><xsl:sort select="." data-type="number"/><i><xsl:value-of select="."/></i></xsl:for-each>
    </xsl:variable>
    <first><xsl:value-of select="exsl:node-set($sorted)/i[1]"/></first>
  </xsl:template>
</xsl:stylesheet>
