<?xml version="1.0" encoding="UTF-8"?>
<!-- Imported by ubl-summary.xsl: the default rules and a party template it overrides in part. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    xmlns="urn:example:internal:invoice"
    exclude-result-prefixes="cac cbc">
  <xsl:template match="cac:Party">
    <party name="{cac:PartyLegalEntity/cbc:RegistrationName}" country="{cac:PostalAddress/cac:Country/cbc:IdentificationCode}"/>
  </xsl:template>
  <xsl:template match="text()"/>
</xsl:stylesheet>
