<?xml version="1.0" encoding="UTF-8"?>
<!-- Tries to write a file with Saxon's saxon:output, which libxslt implements: refused. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:saxon="http://icl.com/saxon" extension-element-prefixes="saxon">
  <xsl:template match="/">
    <saxon:output href="/tmp/portico-xslt-test-saxon.xml"><pwned/></saxon:output>
    <done/>
  </xsl:template>
</xsl:stylesheet>
