<?xml version="1.0" encoding="UTF-8"?>
<!-- Echoes its parameters: they arrive as strings, never evaluated as XPath. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:param name="who" select="'nobody'"/>
  <xsl:param name="expr"/>
  <xsl:template match="/">
    <echo who="{$who}" expr="{$expr}" root="{name(/*)}"/>
  </xsl:template>
</xsl:stylesheet>
