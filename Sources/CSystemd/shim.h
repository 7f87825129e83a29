// libsystemd (Debian 12: libsystemd-dev): sd_notify, sd_listen_fds, sd_journal_sendv.
// sd_journal_send/sd_journal_print are variadic and do not import; use sd_journal_sendv.
#pragma once
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
