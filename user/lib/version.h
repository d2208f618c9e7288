/* SPDX-License-Identifier: MIT */
/* The one version string: `crashwatch version`, the snapshot's tool_version, the upload agents. */
#ifndef CW_VERSION_H
#define CW_VERSION_H

/* A release build may set it from the command line (-DCW_VERSION=...). */
#ifndef CW_VERSION
#define CW_VERSION "0.1.0"
#endif

#endif
