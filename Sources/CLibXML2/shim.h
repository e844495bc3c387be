// Debian's libxml2 is built with ICU and its encoding.h pulls <unicode/ucnv.h>, whose enums
// clash with the ICU copy inside Foundation (_FoundationICU). We never use libxml2's ICU
// converters: skip the system ICU header and give the two types it needs private names.
#include <stdint.h>
#define UCNV_H 1
#define UConverter flux_libxml_UConverter
#define UChar flux_libxml_UChar
typedef struct flux_libxml_UConverter flux_libxml_UConverter;
typedef uint16_t flux_libxml_UChar;
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#undef UConverter
#undef UChar
