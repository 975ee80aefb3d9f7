<?xml version="1.0" encoding="UTF-8"?>
<!-- Includes /etc/passwd: refused when the bundle loads. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:include href="/etc/passwd"/>
  <xsl:template match="/"><done/></xsl:template>
</xsl:stylesheet>
