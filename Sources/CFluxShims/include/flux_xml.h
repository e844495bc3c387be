#pragma once
// libxml2 types stay out of this header (see CLibXML2/shim.h for why its headers are delicate):
// documents are passed as opaque pointers.

/// Initialise libxml2 once per process (idempotent) and silence its default stderr printer on
/// the calling thread: errors are read from the parser context instead.
void flux_xml_prepare_thread(void);

/// xmlFree is a macro over a per-thread function pointer in 2.9.
void flux_xml_free(void *p);

/// Whether the document (an xmlDocPtr) has an internal or external DTD subset.
int flux_xml_has_dtd(void *doc);
