<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xsl:stylesheet [ <!ENTITY sender "ACME Bank AG"> ]>
<!-- An internal DTD: libxslt would read &sender; as nothing; refused when the bundle loads. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/"><Sender>&sender;</Sender></xsl:template>
</xsl:stylesheet>
