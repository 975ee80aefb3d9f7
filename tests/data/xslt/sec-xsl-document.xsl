<?xml version="1.0" encoding="UTF-8"?>
<!-- Tries to write a file (and create its folder) with XSLT 1.1's xsl:document: refused. -->
<xsl:stylesheet version="1.1" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <xsl:document href="/tmp/portico-xslt-test-dir/pwned.xml"><pwned/></xsl:document>
    <done/>
  </xsl:template>
</xsl:stylesheet>
