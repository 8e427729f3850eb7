/* sdp: SDP parsing (RFC 8866), generation and offer/answer (RFC 3264, the
 * parts of JSEP / RFC 8829 a media server needs), shared by the WebRTC and
 * the SIP sides.
 *
 * The parser copies the text once into a refcounted block and returns a
 * read-only view whose strings are slices (sdp_str) into that copy: nothing
 * is NUL-terminated. It never logs; it allocates exactly once (the block,
 * sized by a first counting pass), and caps the text size, the line count
 * and the media count. Errors come back as an errno-style code plus a short
 * reason ("m-line 2: bad port") fit for a SIP Warning or a JSON error.
 *
 * Codes: EBADMSG malformed SDP (SIP 400), EMSGSIZE over a cap (400),
 * ENOTSUP nothing acceptable / unsupported transport (SIP 488), EINVAL bad
 * local arguments (500). sdp_sip_status() maps them.
 *
 * Offer/answer helpers take a local capability description (sdp_local),
 * write SDP text into a GString and report what was negotiated (sdp_neg),
 * whose slices point into the remote view: keep a reference to it while
 * the result is in use. */
#ifndef JN_MEDIA_SDP_H
#define JN_MEDIA_SDP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_SIZE (64u * 1024u) /* bytes of SDP text */
#define SDP_MAX_LINES 2048u
#define SDP_MAX_MEDIA 32u
#define SDP_MAX_FMTS 128u /* formats on one m-line */
#define SDP_MAX_FINGERPRINT 64u /* bytes of a digest (sha-512) */

/* A slice of the SDP text: not NUL-terminated. */
typedef struct {
	const char *p;
	size_t l;
} sdp_str;

typedef enum {
	SDP_DIR_UNSET = 0, /* not written (means sendrecv) */
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
} sdp_dir;

typedef enum {
	SDP_SETUP_UNSET = 0,
	SDP_SETUP_ACTPASS,
	SDP_SETUP_ACTIVE,
	SDP_SETUP_PASSIVE,
	SDP_SETUP_HOLDCONN,
} sdp_setup;

typedef enum {
	SDP_MEDIA_OTHER = 0,
	SDP_MEDIA_AUDIO,
	SDP_MEDIA_VIDEO,
	SDP_MEDIA_APPLICATION,
	SDP_MEDIA_TEXT,
	SDP_MEDIA_MESSAGE,
} sdp_media_type;

typedef enum {
	SDP_PROTO_OTHER = 0,
	SDP_PROTO_RTP_AVP,
	SDP_PROTO_RTP_AVPF,
	SDP_PROTO_RTP_SAVP,
	SDP_PROTO_RTP_SAVPF,
	SDP_PROTO_UDP_TLS_RTP_SAVP,
	SDP_PROTO_UDP_TLS_RTP_SAVPF,
	SDP_PROTO_TCP_TLS_RTP_SAVPF,
	SDP_PROTO_UDP_DTLS_SCTP,
	SDP_PROTO_TCP_DTLS_SCTP,
	SDP_PROTO_DTLS_SCTP,
} sdp_proto;

typedef enum {
	SDP_CAND_OTHER = 0,
	SDP_CAND_HOST,
	SDP_CAND_SRFLX,
	SDP_CAND_PRFLX,
	SDP_CAND_RELAY,
} sdp_cand_type;

/* c= line: "IN IP4 addr" (ttl/count suffixes are kept in addr's tail off). */
typedef struct {
	bool present;
	bool ip6;
	sdp_str addr;
} sdp_conn;

/* One payload format of an RTP m-line, with its rtpmap and fmtp. */
typedef struct {
	uint8_t pt;
	bool has_rtpmap;
	uint8_t channels; /* rtpmap encoding parameters; 1 when absent */
	uint32_t rate;	  /* clock rate; 0 when no rtpmap */
	sdp_str name;	  /* encoding name as written ("opus", "PCMU") */
	sdp_str fmtp;	  /* parameter text after "a=fmtp:PT " (use sdp_fmtp_*) */
} sdp_fmt;

/* a=rtcp-fb:PT|* type [subtype] */
typedef struct {
	int pt; /* -1 for "*" */
	sdp_str type;
	sdp_str param;
} sdp_rtcp_fb;

/* a=candidate (RFC 8839 §5.1). */
typedef struct {
	sdp_str foundation;
	uint16_t component;
	sdp_str transport; /* "udp", "tcp" as written */
	bool tcp;
	uint32_t priority;
	sdp_str addr;
	uint16_t port;
	sdp_cand_type type;
	sdp_str type_str;
	sdp_str raddr; /* empty when absent */
	uint16_t rport;
	bool has_rport;
	int32_t generation; /* -1 when absent */
	sdp_str tcptype;    /* "active", "passive", "so"; empty when absent */
	sdp_str line;	    /* the whole value after "a=candidate:" */
} sdp_candidate;

/* a=extmap:ID[/direction] URI [attributes] */
typedef struct {
	uint16_t id;
	sdp_dir dir; /* SDP_DIR_UNSET when absent */
	sdp_str uri;
	sdp_str attrs;
} sdp_extmap;

/* a=ssrc:ID attribute[:value] */
typedef struct {
	uint32_t ssrc;
	sdp_str attr;
	sdp_str value;
} sdp_ssrc;

/* a=crypto (RFC 4568 SDES): tag suite inline:KEY[|LIFETIME][|MKI:LEN] [params] */
typedef struct {
	uint32_t tag;
	sdp_str suite;
	sdp_str key;	  /* base64 key||salt of the first key-params */
	sdp_str lifetime; /* empty when absent ("2^20" or a number) */
	sdp_str mki;	  /* "1:4" form; empty when absent */
	sdp_str params;	  /* session parameters, unparsed; may be empty */
} sdp_crypto;

/* a=fingerprint:hash XX:XX:.. */
typedef struct {
	bool present;
	sdp_str hash; /* "sha-256" */
	uint8_t bytes[SDP_MAX_FINGERPRINT];
	size_t len;
} sdp_fingerprint;

/* Any a= line not modelled above: name and value (value empty if a flag). */
typedef struct {
	sdp_str name;
	sdp_str value;
} sdp_attr;

/* One m= section. ICE credentials, fingerprint, setup and connection hold
 * the media-level value or, when the section has none, the session-level
 * one (the parser resolves inheritance). dir is the effective direction. */
typedef struct {
	sdp_media_type type;
	sdp_str type_str;
	uint16_t port;
	uint16_t port_count; /* "m=audio 4000/2" -> 2; 1 otherwise */
	sdp_proto proto;
	sdp_str proto_str;
	sdp_conn conn;
	sdp_dir dir; /* effective: media, else session, else SENDRECV */
	bool dir_explicit;
	sdp_str mid;
	sdp_str ice_ufrag, ice_pwd;
	bool ice_trickle;
	bool end_of_candidates;
	sdp_fingerprint fingerprint;
	sdp_setup setup;
	bool rtcp_mux, rtcp_rsize;
	uint16_t rtcp_port; /* a=rtcp; 0 when absent */
	sdp_str rtcp_addr;
	unsigned ptime, maxptime; /* 0 when absent */
	uint16_t sctp_port;	  /* a=sctp-port; 0 when absent */
	sdp_str msid;
	sdp_str fmt_str;	  /* the formats as written on the m-line */
	sdp_fmt *fmts;		  /* RTP protos only: one per format on the m-line */
	size_t n_fmts;
	sdp_candidate *cands;
	size_t n_cands;
	sdp_extmap *extmaps;
	size_t n_extmaps;
	sdp_ssrc *ssrcs;
	size_t n_ssrcs;
	sdp_rtcp_fb *fbs; /* rtcp-fb lines of this section (pt -1 = "*") */
	size_t n_fbs;
	sdp_crypto *cryptos;
	size_t n_cryptos;
	sdp_attr *attrs; /* unknown attributes, in order */
	size_t n_attrs;
} sdp_media;

/* The parsed view. Read-only; lives in one refcounted block with the text. */
typedef struct {
	sdp_str text; /* the whole copied text */
	unsigned version;
	sdp_str origin_user;
	sdp_str sess_id, sess_version;
	sdp_str origin_addr;
	sdp_str name; /* s= */
	sdp_conn conn;
	sdp_dir dir; /* session-level; SDP_DIR_UNSET when absent */
	sdp_str bundle[SDP_MAX_MEDIA]; /* a=group:BUNDLE mids */
	size_t n_bundle;
	bool has_bundle;
	sdp_str ice_ufrag, ice_pwd;
	bool ice_trickle, ice_lite;
	sdp_fingerprint fingerprint;
	sdp_setup setup;
	sdp_str msid_semantic;
	sdp_attr *attrs; /* unknown session-level attributes */
	size_t n_attrs;
	sdp_media *media;
	size_t n_media;
} sdp_session;

/* Error detail: the 1-based line and a reason ("m-line 2: bad port"). */
typedef struct {
	unsigned line;
	char reason[112];
} sdp_error;

/* ---- parser ---- */

/* Parses len bytes of SDP (CRLF or LF lines) into a new view (refcount 1).
 * err may be NULL. Returns 0, EBADMSG or EMSGSIZE. */
int sdp_parse(const char *buf, size_t len, sdp_session **out, sdp_error *err);
/* Takes a reference. */
sdp_session *sdp_ref(sdp_session *s);
/* Drops a reference (NULL is fine); always returns NULL. */
sdp_session *sdp_unref(sdp_session *s);

/* Finds the format with payload type pt, or NULL. */
const sdp_fmt *sdp_media_fmt(const sdp_media *m, unsigned pt);
/* Finds the first unknown attribute called name in m (NULL: session). */
const sdp_attr *sdp_attr_find(const sdp_session *s, const sdp_media *m, const char *name);
/* Iterates "k=v;k2=v2" fmtp text: returns false at the end. A parameter
 * without '=' (telephone-event's "0-16") comes back with an empty key. */
bool sdp_fmtp_next(sdp_str *rest, sdp_str *key, sdp_str *val);
/* Looks key up in fmtp text (case-insensitive); true when present. */
bool sdp_fmtp_get(sdp_str fmtp, const char *key, sdp_str *val);
/* Compares a slice to a C string, exactly / ignoring ASCII case. */
bool sdp_str_eq(sdp_str s, const char *c);
bool sdp_str_ieq(sdp_str s, const char *c);
/* Copies a slice into a fresh NUL-terminated string (g_free it). */
char *sdp_str_dup(sdp_str s);
/* Parses a decimal slice into *v (no sign, <= max). */
bool sdp_str_u32(sdp_str s, uint32_t max, uint32_t *v);
/* Names for enums ("sendrecv", "actpass", "UDP/TLS/RTP/SAVPF"...). */
const char *sdp_dir_name(sdp_dir d);
const char *sdp_setup_name(sdp_setup s);
const char *sdp_proto_name(sdp_proto p);
/* The SIP status for an sdp_* error code: 400, 488 or 500. */
int sdp_sip_status(int code);

/* ---- generator ---- */

/* A format to print: rtpmap when name is set, fmtp when fmtp is set. */
typedef struct {
	uint8_t pt;
	const char *name; /* NULL: static type, no rtpmap line */
	uint32_t rate;
	uint8_t channels; /* printed only when > 1 */
	const char *fmtp; /* NULL: none */
	const char *const *rtcp_fb; /* NULL-terminated "nack", "transport-cc"... */
} sdp_fmt_desc;

/* A media section to print. Strings are NUL-terminated; NULL = omit. */
typedef struct {
	sdp_media_type type;
	const char *type_str; /* when type is SDP_MEDIA_OTHER */
	uint16_t port; /* 0 rejects the section */
	sdp_proto proto;
	const char *proto_str; /* when proto is SDP_PROTO_OTHER */
	const char *fmt_str;   /* formats when there is no fmts[] (e.g. "webrtc-datachannel") */
	const char *addr;      /* c= address; NULL: none at media level */
	const char *mid;
	sdp_dir dir;
	const char *ice_ufrag, *ice_pwd;
	bool ice_trickle;
	const char *const *candidates; /* values after "a=candidate:" */
	size_t n_candidates;
	bool end_of_candidates;
	const char *fingerprint; /* "sha-256 AB:CD:.." */
	sdp_setup setup;
	bool rtcp_mux, rtcp_rsize;
	uint16_t rtcp_port;	  /* 0: no a=rtcp */
	unsigned ptime, maxptime; /* 0: omit */
	uint16_t sctp_port;
	const sdp_fmt_desc *fmts;
	size_t n_fmts;
	const char *const *cryptos; /* values after "a=crypto:" */
	size_t n_cryptos;
	const char *const *extra; /* more attribute lines without "a=" */
	size_t n_extra;
} sdp_media_desc;

typedef struct {
	const char *origin_user; /* "-" when NULL */
	uint64_t sess_id, sess_version;
	const char *origin_addr; /* "127.0.0.1" when NULL */
	const char *name;	 /* "-" when NULL */
	const char *addr;	 /* session c=; NULL: none */
	const char *const *bundle; /* mids of a=group:BUNDLE; NULL: none */
	size_t n_bundle;
	bool ice_lite;
	const char *msid_semantic; /* e.g. "WMS *"; NULL: omit */
	const sdp_media_desc *media;
	size_t n_media;
} sdp_desc;

/* Appends the SDP for d (CRLF line ends) to out. Returns 0 or EINVAL. */
int sdp_print(const sdp_desc *d, GString *out);

/* ---- offer/answer ---- */

/* A local codec, in preference order. pt is used in offers (and for
 * static types); in answers the offerer's payload type is kept. */
typedef struct {
	const char *name; /* "opus", "PCMU", "PCMA", "G722" (case-insensitive) */
	uint32_t rate;	  /* RTP clock rate */
	uint8_t channels; /* 0 or 1 = mono; opus is 2 */
	uint8_t pt;
	const char *fmtp; /* offered fmtp; for opus our receive preferences */
} sdp_codec;

/* An SDES key of ours (RFC 4568): suite and base64 inline key. */
typedef struct {
	const char *suite; /* "AES_CM_128_HMAC_SHA1_80" */
	const char *key;   /* base64 of key||salt */
} sdp_sdes_key;

typedef enum {
	SDP_TRANSPORT_RTP = 0, /* RTP/AVP */
	SDP_TRANSPORT_SDES,    /* RTP/SAVP + a=crypto */
	SDP_TRANSPORT_DTLS,    /* UDP/TLS/RTP/SAVPF, ICE, rtcp-mux */
} sdp_transport;

/* What we can do. Strings are NUL-terminated and only read during a call. */
typedef struct {
	const sdp_codec *codecs;
	size_t n_codecs;
	bool telephone_event;	/* offer/accept telephone-event at codec rates */
	uint8_t te_pt;		/* offers: PT for 8 kHz events (48 kHz: te_pt+1) */
	unsigned ptime;		/* 0: omit */
	sdp_transport transport;
	/* answers: also accept RTP/AVP when transport is SDES and vice versa */
	bool sdes_optional;
	const char *addr; /* our c= address (IPv4 or IPv6 literal) */
	uint16_t port;	  /* our RTP port (DTLS: ICE default candidate port, or 9) */
	const char *ice_ufrag, *ice_pwd;
	const char *const *candidates; /* "a=candidate:" values; may be empty */
	size_t n_candidates;
	bool end_of_candidates;
	bool ice_lite;
	const char *fingerprint; /* "sha-256 AB:.." */
	/* answers to actpass: ACTIVE (default) or PASSIVE. On a re-offer pass
	 * the role negotiated first (sdp_neg_media.local_setup): Chromium
	 * refuses an answer that flips the DTLS role of a live transport. */
	sdp_setup setup;
	const sdp_sdes_key *sdes;
	size_t n_sdes;
	bool video, data; /* not yet supported: must be false (port 0) */
	sdp_dir dir;	  /* what we want (hold: SENDONLY/INACTIVE); UNSET = sendrecv */
	const char *origin_user;
	uint64_t sess_id, sess_version;
	const char *session_name;
	const char *msid_semantic; /* "WMS *" style; NULL omit */
	const char *msid;	   /* a=msid value for the audio track; NULL omit */
	uint32_t ssrc;		   /* a=ssrc for our audio; 0 omit */
	const char *cname;	   /* with ssrc */
} sdp_local;

/* What one m-line negotiated. Slices point into the remote view. */
typedef struct {
	bool accepted;
	sdp_media_type type;
	sdp_str mid;
	int pt;		   /* chosen payload type, -1 none */
	sdp_str codec;	   /* its encoding name */
	uint32_t rate;
	uint8_t channels;
	int local_codec;   /* index into sdp_local.codecs, -1 none */
	int te_pt;	   /* telephone-event PT at the codec's rate, -1 none */
	sdp_dir local_dir; /* what we send/receive (as in our SDP) */
	sdp_dir remote_dir;
	sdp_str remote_addr; /* RTP destination */
	uint16_t remote_port;
	uint16_t remote_rtcp_port; /* == remote_port when rtcp_mux */
	bool rtcp_mux;
	unsigned ptime; /* remote's, 0 when absent */
	sdp_transport transport;
	const sdp_crypto *remote_crypto; /* SDES: their key, NULL otherwise */
	int local_sdes;			 /* index into sdp_local.sdes, -1 none */
	uint32_t crypto_tag;
	sdp_setup remote_setup, local_setup; /* DTLS roles */
	/* opus: what the remote wants to receive, i.e. how we should encode */
	bool opus_fec, opus_dtx, opus_stereo;
	uint32_t opus_maxaveragebitrate, opus_maxplaybackrate;
} sdp_neg_media;

typedef struct {
	size_t n_media;
	sdp_neg_media media[SDP_MAX_MEDIA];
	int audio; /* index of the first accepted audio section, -1 none */
	bool bundle;
} sdp_neg;

/* Answers a parsed remote offer with local capabilities: every m-line in
 * order with its mid; the first audio section with a common codec is
 * accepted, everything else gets port 0. Appends the answer to out and
 * fills neg (may be NULL). Returns 0, ENOTSUP (no acceptable audio: 488)
 * or EINVAL, with err->reason set. */
int sdp_answer(const sdp_session *offer, const sdp_local *local, GString *out,
	       sdp_neg *neg, sdp_error *err);

/* Builds an offer with one audio section from local (RTP/AVP, RTP/SAVP +
 * crypto, or UDP/TLS/RTP/SAVPF with ICE and setup:actpass). Appends to out.
 * Returns 0 or EINVAL. */
int sdp_offer(const sdp_local *local, GString *out, sdp_error *err);

/* A subsequent offer on a negotiated session (hold, resume): the m-lines
 * of prev (the peer's last offer or answer; audio is the index of the
 * accepted audio section, nm what it negotiated) in the same order with
 * their mids, the others rejected with port 0; the audio section with the
 * codec and telephone-event of nm (same payload types), local->dir, and
 * for DTLS our ICE credentials, candidates, fingerprint and local->setup
 * as the role (ACTIVE or PASSIVE: the one negotiated first; anything else
 * prints actpass). Bump local->sess_version first. 0 or EINVAL. */
int sdp_reoffer(const sdp_session *prev, size_t audio, const sdp_neg_media *nm,
		const sdp_local *local, GString *out, sdp_error *err);

/* Reads the remote answer to an offer we built from local: the chosen
 * codec, address/port, direction, crypto, DTLS role. The answer has one
 * audio section (neg->audio), any other m-line rejected (port 0), as for
 * an sdp_reoffer; the caller checks the m-line count. Returns 0, EBADMSG
 * (answer inconsistent with our offer) or ENOTSUP (audio rejected). */
int sdp_process_answer(const sdp_session *answer, const sdp_local *local,
		       sdp_neg *neg, sdp_error *err);

/* The direction an answerer uses for a remote offer direction when it
 * wants local (RFC 3264 §6.1): sendonly -> recvonly, etc. */
sdp_dir sdp_dir_answer(sdp_dir offered, sdp_dir local);

#endif
