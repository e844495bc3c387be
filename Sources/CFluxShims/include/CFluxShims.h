#pragma once
// Umbrella header: small C functions for macros and callbacks Swift cannot import.
#include "flux_openssl.h"
#include "flux_xml.h"
#include "flux_sys.h"
#include "flux_zlib.h"
