<?xml version="1.0" encoding="UTF-8"?>
<!-- Imports a stylesheet from outside the bundle folder: refused when the bundle loads. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="../samples/ubl-invoice-example1.xml"/>
  <xsl:template match="/"><done/></xsl:template>
</xsl:stylesheet>
