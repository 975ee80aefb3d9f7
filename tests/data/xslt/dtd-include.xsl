<?xml version="1.0" encoding="UTF-8"?>
<!-- Includes a stylesheet that has a DOCTYPE: refused when the bundle loads, as the top one. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:include href="lib/dtd-lib.xsl"/>
  <xsl:template match="/"><xsl:call-template name="sender"/></xsl:template>
</xsl:stylesheet>
