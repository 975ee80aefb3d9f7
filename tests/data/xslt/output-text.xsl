<?xml version="1.0" encoding="UTF-8"?>
<!-- A text result with a declared encoding. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="ISO-8859-1"/>
  <xsl:param name="who"/>
  <xsl:template match="/">Hello <xsl:value-of select="$who"/>: <xsl:value-of select="/hello"/></xsl:template>
</xsl:stylesheet>
