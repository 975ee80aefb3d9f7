<?xml version="1.0" encoding="UTF-8"?>
<!-- A UBL 2.1 invoice to the summary our ledger keeps; code lists read with document() from a
     file of the bundle. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:inv="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    xmlns="urn:example:internal:invoice"
    exclude-result-prefixes="inv cac cbc">
  <xsl:import href="lib/common.xsl"/>
  <xsl:output method="xml" indent="yes"/>
  <xsl:param name="partner"/>
  <xsl:variable name="codes" select="document('codes.xml')/codes"/>

  <xsl:template match="/inv:Invoice">
    <xsl:variable name="type" select="cbc:InvoiceTypeCode"/>
    <summary id="{cbc:ID}" partner="{$partner}" currency="{cbc:DocumentCurrencyCode}">
      <type code="{$type}"><xsl:value-of select="$codes/type[@code = $type]"/></type>
      <issued><xsl:value-of select="cbc:IssueDate"/></issued>
      <supplier><xsl:apply-templates select="cac:AccountingSupplierParty/cac:Party"/></supplier>
      <customer><xsl:apply-templates select="cac:AccountingCustomerParty/cac:Party"/></customer>
      <lines count="{count(cac:InvoiceLine)}"/>
      <total tax="{cac:TaxTotal/cbc:TaxAmount}"><xsl:value-of select="cac:LegalMonetaryTotal/cbc:PayableAmount"/></total>
    </summary>
  </xsl:template>

  <!-- overrides the imported rule: the customer has no legal address country in this sample -->
  <xsl:template match="cac:AccountingCustomerParty/cac:Party">
    <party name="{cac:PartyLegalEntity/cbc:RegistrationName}" contact="{cac:Contact/cbc:Name}"/>
  </xsl:template>
</xsl:stylesheet>
