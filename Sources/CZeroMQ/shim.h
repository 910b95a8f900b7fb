#ifndef KPID_CZEROMQ_SHIM_H
#define KPID_CZEROMQ_SHIM_H
#include <zmq.h>
#endif
