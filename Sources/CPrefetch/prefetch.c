// The CPrefetch target is header-only (include/kpid_prefetch.h); SwiftPM needs one source file.
#include "kpid_prefetch.h"
