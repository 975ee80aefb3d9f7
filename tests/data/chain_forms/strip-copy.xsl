<?xml version="1.0" encoding="UTF-8"?>
<!-- test_chain_forms: a copy of the input without its whitespace text. xsl:strip-space makes
     libxslt remove that text from the input tree itself, so the xslt step must run it on a copy
     of the document the chain holds. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:strip-space elements="*"/>
  <xsl:output method="xml" encoding="UTF-8"/>
  <xsl:template match="@*|node()">
    <xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>
  </xsl:template>
</xsl:stylesheet>
