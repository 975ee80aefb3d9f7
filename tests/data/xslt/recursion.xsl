<?xml version="1.0" encoding="UTF-8"?>
<!-- Recurses as deep as the input says: libxslt stops it at 3000 nested calls. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <r><xsl:call-template name="down"><xsl:with-param name="n" select="/n"/></xsl:call-template></r>
  </xsl:template>
  <xsl:template name="down">
    <xsl:param name="n"/>
    <xsl:if test="$n > 0">
      <xsl:call-template name="down"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
