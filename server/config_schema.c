/* The one list of configuration keys. conf/junction.conf documents the same
 * keys; tests/unit/test_config.c checks that the two agree. */
#include "server/config.h"

#define S(sec, k, d, doc) { sec, k, JN_CFG_STRING, d, 0, 0, NULL, doc }
#define I(sec, k, d, lo, hi, doc) { sec, k, JN_CFG_INT, d, lo, hi, NULL, doc }
#define B(sec, k, d, doc) { sec, k, JN_CFG_BOOL, d, 0, 0, NULL, doc }
#define E(sec, k, d, ch, doc) { sec, k, JN_CFG_ENUM, d, 0, 0, ch, doc }
#define A(sec, k, d, doc) { sec, k, JN_CFG_ADDR, d, 0, 0, NULL, doc }
#define R(sec, k, d, doc) { sec, k, JN_CFG_REGEX, d, 0, 0, NULL, doc }
#define L(sec, k, d, ch, doc) { sec, k, JN_CFG_LIST, d, 0, 0, ch, doc }

static const jn_cfg_key schema[] = {
	E("general", "log_level", "info", "error|warn|info|debug|trace", "most verbose level logged"),
	I("general", "media_workers", "0", 0, 256, "media worker threads; 0 = one per core"),
	I("general", "drain_timeout", "10", 0, 3600, "seconds to let calls end after SIGTERM before exiting"),
	S("general", "cdr_file", "junction-cdr.jsonl", "call records, one JSON line per call, fsync'd; empty = off"),

	A("sip", "udp_listen", "127.0.0.1:5060", "SIP over UDP; empty = off"),
	A("sip", "tcp_listen", "127.0.0.1:5060", "SIP over TCP; empty = off"),
	A("sip", "tls_listen", "", "SIP over TLS (needs tls_certificate); empty = off"),
	S("sip", "tls_certificate", "", "PEM certificate chain for SIP TLS and WSS"),
	S("sip", "tls_private_key", "", "PEM private key for tls_certificate"),
	S("sip", "tls_ca_file", "", "PEM CA certificates that trunk certificates are checked against; empty = the system store"),
	S("sip", "domain", "127.0.0.1", "our SIP domain (the host part users register under)"),
	S("sip", "realm", "junction", "digest authentication realm"),
	L("sip", "auth_algorithms", "MD5", "SHA-256|MD5",
	  "digest algorithms offered, in order (JsSIP and baresip 1.0 fail if SHA-256 comes first or at all)"),
	I("sip", "nonce_lifetime", "300", 10, 86400, "seconds a digest nonce stays fresh"),
	I("sip", "t1", "500", 50, 10000, "RFC 3261 T1 in ms (RTT estimate)"),
	I("sip", "t2", "4000", 100, 64000, "RFC 3261 T2 in ms (max non-INVITE retransmit interval)"),
	I("sip", "t4", "5000", 100, 64000, "RFC 3261 T4 in ms (max time a message stays in the network)"),
	I("sip", "min_expires", "60", 1, 86400, "shortest registration accepted (423 below)"),
	I("sip", "max_expires", "3600", 1, 604800, "longest registration granted"),
	I("sip", "default_expires", "600", 1, 604800, "registration time when the client names none"),
	I("sip", "max_message_size", "65535", 1024, 1048576, "largest SIP message accepted, bytes"),
	I("sip", "max_connections", "4096", 1, 1000000, "open TCP/TLS/WS connections at most"),
	I("sip", "tcp_idle_timeout", "300", 5, 86400, "seconds before an idle stream connection is closed"),
	S("sip", "user_agent", "Junction", "User-Agent and Server header value"),
	I("sip", "ring_timeout", "60", 0, 3600, "seconds a call rings before junction gives up (480); 0 = never"),

	A("websocket", "listen", "127.0.0.1:8081", "WebSocket: subprotocols 'sip' (RFC 7118) and 'junction' (JSON); empty = off"),
	A("websocket", "tls_listen", "", "secure WebSocket (WSS; needs [sip] tls_certificate); empty = off"),
	I("websocket", "max_message_size", "65535", 1024, 1048576, "largest WebSocket message accepted, bytes"),

	L("webrtc", "local_addresses", "127.0.0.1", NULL, "addresses ICE offers as host candidates"),
	S("webrtc", "public_address", "", "address to advertise when behind 1:1 NAT"),
	I("webrtc", "port_min", "20000", 1024, 65535, "lowest UDP port for ICE"),
	I("webrtc", "port_max", "29999", 1024, 65535, "highest UDP port for ICE"),
	S("webrtc", "stun_server", "", "host:port of a STUN server; empty = none"),
	S("webrtc", "turn_server", "", "host:port of a TURN server; empty = none"),
	S("webrtc", "turn_username", "", "TURN user name"),
	S("webrtc", "turn_password", "", "TURN password"),
	S("webrtc", "dtls_certificate", "", "PEM certificate for DTLS; empty = ECDSA P-256 generated at start"),
	S("webrtc", "dtls_private_key", "", "PEM private key for dtls_certificate"),
	L("webrtc", "srtp_profiles", "AEAD_AES_128_GCM,AES_CM_128_HMAC_SHA1_80",
	  "AEAD_AES_128_GCM|AES_CM_128_HMAC_SHA1_80", "DTLS-SRTP profiles, preferred first"),
	I("webrtc", "consent_timeout", "30", 5, 300, "seconds without ICE consent before a browser is gone"),

	S("media", "rtp_address", "127.0.0.1", "address RTP legs toward SIP peers bind and advertise"),
	I("media", "rtp_port_min", "30000", 1024, 65535, "lowest UDP port for RTP toward SIP peers"),
	I("media", "rtp_port_max", "39999", 1024, 65535, "highest UDP port for RTP toward SIP peers"),
	L("media", "codecs", "opus,pcmu,pcma,g722", "opus|pcmu|pcma|g722", "codecs offered, preferred first"),
	I("media", "jitter_max_ms", "200", 20, 2000, "hard cap on jitter buffer delay"),
	I("media", "media_timeout", "30", 0, 3600, "seconds without RTP before a media-timeout event; 0 = off (not applied to calls yet)"),
	B("media", "hangup_on_media_timeout", "true", "end the call on media timeout (not applied to calls yet)"),
	B("media", "symmetric_rtp", "true", "latch onto the address RTP really comes from (NAT)"),
	I("media", "opus_complexity", "5", 0, 10, "Opus encoder complexity"),
	I("media", "ptime", "20", 10, 60, "packet time offered on RTP legs, ms"),

	A("api", "http_listen", "127.0.0.1:8080", "HTTP: REST, /metrics and the web pages; empty = off"),
	L("api", "tokens", "", NULL, "REST bearer tokens; empty = one random token made at start and logged"),
	B("api", "require_token_on_loopback", "true", "ask for a token even from 127.0.0.1"),
	S("api", "web_root", "", "folder of the browser pages; empty = the installed/source web/"),
	S("api", "webhook_url", "", "URL that receives every event as a POST; empty = off"),

	S("user:", "password", "", "SIP password (or give ha1_md5 / ha1_sha256)"),
	S("user:", "ha1_md5", "", "MD5(user:realm:password), hex"),
	S("user:", "ha1_sha256", "", "SHA-256(user:realm:password), hex"),
	S("user:", "display_name", "", "name shown to the called party"),
	I("user:", "max_calls", "4", 0, 10000, "concurrent calls at most; 0 = none"),

	S("trunk:", "host", "", "trunk host name or address (required)"),
	I("trunk:", "port", "0", 0, 65535, "trunk port; 0 = from DNS SRV (RFC 3263), else 5060 (5061 for tls)"),
	E("trunk:", "transport", "udp", "udp|tcp|tls", "SIP transport toward the trunk"),
	B("trunk:", "register", "false", "register to the trunk with username/password"),
	S("trunk:", "username", "", "digest user for the trunk"),
	S("trunk:", "password", "", "digest password for the trunk"),
	I("trunk:", "expires", "600", 60, 86400, "registration time asked of the trunk"),
	S("trunk:", "from_user", "", "user part of From toward the trunk; empty = caller"),
	S("trunk:", "from_domain", "", "host part of From toward the trunk; empty = trunk host"),
	E("trunk:", "srtp", "off", "off|optional|required", "SDES-SRTP toward the trunk"),
	L("trunk:", "codecs", "pcmu,pcma,opus,g722", "opus|pcmu|pcma|g722", "codecs offered to the trunk, in order"),
	E("trunk:", "dtmf", "rfc4733", "rfc4733|info", "how DTMF is sent to the trunk"),
	I("trunk:", "options_interval", "0", 0, 3600, "seconds between OPTIONS pings; 0 = off"),
	I("trunk:", "session_timer", "0", 0, 86400, "RFC 4028 session interval; 0 = off"),
	I("trunk:", "max_calls", "100", 0, 100000, "concurrent calls at most"),
	B("trunk:", "tls_verify", "true", "check the trunk's certificate against host"),

	R("route:", "match", "", "regular expression on the dialled user part (required)"),
	S("route:", "from", "user:*", "who may use it: user:*, user:NAME, trunk:NAME, any"),
	S("route:", "target", "", "trunk:NAME, user:NAME, conference:NAME or echo (required)"),
	I("route:", "strip", "0", 0, 64, "leading digits removed before prepend"),
	S("route:", "prepend", "", "text put before the dialled number"),
	I("route:", "priority", "100", 0, 1000000, "lower is tried first"),

	{ NULL, NULL, JN_CFG_STRING, NULL, 0, 0, NULL, NULL },
};

const jn_cfg_key *jn_config_schema(void)
{
	return schema;
}

/* Without --config, junction starts a loopback demo: two users and the echo
 * test, everything bound to 127.0.0.1. */
const char jn_config_demo[] =
	"[user:alice]\npassword = alice\ndisplay_name = Alice\n"
	"[user:bob]\npassword = bob\ndisplay_name = Bob\n"
	"[route:echo]\nmatch = ^echo$\nfrom = user:*\ntarget = echo\n"
	"[route:users]\nmatch = ^(alice|bob)$\nfrom = any\ntarget = user:$1\n";
