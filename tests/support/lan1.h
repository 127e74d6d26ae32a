/*
 * lan1: the loopback layout most integration tests share: sipnatd at
 * 127.0.1.10:25060 and the PBX at 127.0.1.20:25080 on the LAN 127.0.1.0/24,
 * phones on 127.0.2.x. Tests that bind these run one at a time (RUN_SERIAL
 * and the shared lock).
 */
#ifndef SIPNATD_TEST_LAN1_H
#define SIPNATD_TEST_LAN1_H

#define SN_IP "127.0.1.10"
#define SN_PORT 25060
#define PBX_IP "127.0.1.20"
#define PBX_PORT 25080

/* The opening of a configuration's general section for this layout, with
 * externip 203.0.113.7; the test adds its own keys and closes it. */
#define LAN1_GENERAL                                      \
	"general: {\n"                                    \
	"  bindaddr = \"" SN_IP "\"; bindport = 25060;\n" \
	"  externip = \"203.0.113.7\";\n"                 \
	"  localnet = [ \"127.0.1.0/24\" ];\n"            \
	"  pbx = \"" PBX_IP ":25080\";\n"

#endif
