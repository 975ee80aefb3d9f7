<?xml version="1.0" encoding="UTF-8"?>
<!-- The invoice lines of a UBL invoice as CSV (text output; the route says text/csv). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:inv="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <xsl:output method="text"/>
  <xsl:template match="/">
    <xsl:text>line;quantity;unit;amount;item&#10;</xsl:text>
    <xsl:for-each select="inv:Invoice/cac:InvoiceLine">
      <xsl:value-of select="concat(cbc:ID, ';', cbc:InvoicedQuantity, ';', cbc:InvoicedQuantity/@unitCode, ';',
                                   cbc:LineExtensionAmount, ';', cac:Item/cbc:Name, '&#10;')"/>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
