<?xml version="1.0" encoding="UTF-8"?>
<!-- pain.001 (Swiss SPS flavour) to the small JSON our payments service takes. Amounts are
     copied as text, so "6.20" stays "6.20". -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:p="http://www.six-interbank-clearing.com/de/pain.001.001.03.ch.02.xsd"
    exclude-result-prefixes="p">
  <xsl:include href="lib/json.xsl"/>
  <xsl:output method="text" media-type="application/json"/>
  <xsl:param name="partner"/>
  <xsl:param name="request"/>

  <xsl:template match="/">
    <xsl:apply-templates select="p:Document/p:CstmrCdtTrfInitn"/>
  </xsl:template>

  <xsl:template match="p:CstmrCdtTrfInitn">
    <xsl:text>{"partner":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="$partner"/></xsl:call-template>
    <xsl:text>,"request":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="$request"/></xsl:call-template>
    <xsl:text>,"msgId":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="p:GrpHdr/p:MsgId"/></xsl:call-template>
    <xsl:text>,"created":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="p:GrpHdr/p:CreDtTm"/></xsl:call-template>
    <xsl:text>,"count":</xsl:text>
    <xsl:value-of select="count(p:PmtInf/p:CdtTrfTxInf)"/>
    <xsl:text>,"total":</xsl:text>
    <xsl:value-of select="p:GrpHdr/p:CtrlSum"/>
    <xsl:text>,"payments":[</xsl:text>
    <xsl:apply-templates select="p:PmtInf/p:CdtTrfTxInf"/>
    <xsl:text>]}</xsl:text>
  </xsl:template>

  <xsl:template match="p:CdtTrfTxInf">
    <xsl:variable name="amount" select="p:Amt/p:InstdAmt | p:Amt/p:EqvtAmt/p:Amt"/>
    <xsl:if test="position() > 1">,</xsl:if>
    <xsl:text>{"id":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="p:PmtId/p:EndToEndId"/></xsl:call-template>
    <xsl:text>,"date":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="../p:ReqdExctnDt"/></xsl:call-template>
    <xsl:text>,"amount":</xsl:text>
    <xsl:value-of select="$amount"/>
    <xsl:text>,"currency":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="$amount/@Ccy"/></xsl:call-template>
    <xsl:text>,"creditor":</xsl:text>
    <xsl:call-template name="json-string"><xsl:with-param name="s" select="p:Cdtr/p:Nm"/></xsl:call-template>
    <xsl:text>,"account":</xsl:text>
    <xsl:call-template name="json-string">
      <xsl:with-param name="s" select="p:CdtrAcct/p:Id/p:IBAN | p:CdtrAcct/p:Id/p:Othr/p:Id"/>
    </xsl:call-template>
    <xsl:text>}</xsl:text>
  </xsl:template>
</xsl:stylesheet>
