// liblz4 (Debian liblz4-dev): the block format compresses the event journal's frames.
#include <lz4.h>
