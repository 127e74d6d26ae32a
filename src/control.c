/*
 * control: the control socket, beside the SIP and RTP paths. It only moves
 * bytes: accept a connection, read one request line, hand the command to
 * control_reply.c, write the JSON it returns and close. Every client is a
 * bufferevent with timeouts in the daemon's own loop, so a client that sends
 * nothing, or never reads its reply, costs a bounded buffer and then is
 * dropped; it can never block the loop.
 */
#include "control.h"

#include "control_reply.h"
#include "log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONTROL_BACKLOG 16
#define CONTROL_ACCEPT_PAUSE_S 1   /* after an accept error such as EMFILE */
#define CONTROL_SOCKET_UMASK 0117  /* the socket is made rw-rw---- */

static const char *const command_names[] = {
	[CONTROL_PEERS] = "peers",
	[CONTROL_REGISTRATIONS] = "registrations",
	[CONTROL_CALLS] = "calls",
	[CONTROL_STATS] = "stats",
	[CONTROL_BANS] = "bans",
	[CONTROL_RELOAD] = "reload",
	[CONTROL_STATUS] = "status",
};
#define COMMAND_COUNT (sizeof(command_names) / sizeof(command_names[0]))

struct client {
	struct control *c;
	struct bufferevent *bev;
	bool answered;               /* the reply is queued; reading has stopped */
	struct client *prev, *next;
};

struct control {
	struct event_base *base;
	const struct control_view *view;
	struct evconnlistener *listener;
	struct event *resume;        /* re-enables accepting after a pause */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                   /* the file bind() made, to remove only it */
	ino_t ino;
	time_t started;
	struct client *clients;
	size_t client_count;
};

static struct log_limit control_log_limit = LOG_LIMIT_INIT(60, 5);

/* ---- the request ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

enum control_parse control_parse_request(const char *buf, size_t len, bool ended,
					 enum control_command *cmd, const char **why)
{
	const char *nl = len ? memchr(buf, '\n', len) : NULL;
	size_t start = 0, end;

	if (nl)
		end = (size_t)(nl - buf);
	else if (len >= CONTROL_REQUEST_MAX || ended)
		end = len;
	else
		return CONTROL_PARSE_INCOMPLETE;
	if (end >= CONTROL_REQUEST_MAX) {
		*why = "request too long";
		return CONTROL_PARSE_ERROR;
	}
	while (start < end && is_blank(buf[start]))
		start++;
	while (end > start && is_blank(buf[end - 1]))
		end--;
	if (end == start) {
		*why = "empty request";
		return CONTROL_PARSE_ERROR;
	}
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		size_t n = strlen(command_names[i]);
		if (end - start == n && memcmp(buf + start, command_names[i], n) == 0) {
			*cmd = (enum control_command)i;
			return CONTROL_PARSE_OK;
		}
	}
	*why = "unknown command; expected peers, registrations, calls, stats, bans or reload";
	return CONTROL_PARSE_ERROR;
}

const char *control_command_name(enum control_command cmd)
{
	return (size_t)cmd < COMMAND_COUNT ? command_names[cmd] : "?";
}

/* ---- one connection ---- */

static void client_free(struct client *cl)
{
	struct control *c = cl->c;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->client_count--;
	bufferevent_free(cl->bev);
	free(cl);
}

/* Closing a UNIX socket with unread input resets the connection, and the
 * client may then lose the reply it has not read yet: take in what an
 * over-long request left behind (within reason) before closing. */
static void discard_unread(evutil_socket_t fd)
{
	char sink[CONTROL_REQUEST_MAX];

	for (int i = 0; i < 8 && recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
}

static void reply_sent_cb(struct bufferevent *bev, void *arg)
{
	discard_unread(bufferevent_getfd(bev));
	client_free(arg);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg);

static void answer(struct client *cl, json_t *reply)
{
	if (!reply)
		reply = control_reply_error("out of memory");
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	json_decref(reply);
	if (!text || evbuffer_add(out, text, strlen(text)) != 0 || evbuffer_add(out, "\n", 1) != 0) {
		free(text);
		client_free(cl);
		return;
	}
	free(text);
	/* The write callback runs once the output buffer has drained. */
	bufferevent_setcb(cl->bev, NULL, reply_sent_cb, client_event_cb, cl);
}

static void client_request(struct client *cl, bool ended)
{
	struct evbuffer *in = bufferevent_get_input(cl->bev);
	size_t len = evbuffer_get_length(in);
	enum control_command cmd;
	const char *why = NULL;

	if (len > CONTROL_REQUEST_MAX)
		len = CONTROL_REQUEST_MAX;
	const char *buf = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
	enum control_parse r = control_parse_request(buf, len, ended, &cmd, &why);
	if (r == CONTROL_PARSE_INCOMPLETE)
		return;
	cl->answered = true;
	bufferevent_disable(cl->bev, EV_READ);
	if (r == CONTROL_PARSE_ERROR) {
		log_limited(&control_log_limit, LOG_INFO, "control: refused a request: %s", why);
		answer(cl, control_reply_error(why));
		return;
	}
	log_debug("control: %s", control_command_name(cmd));
	if (cmd == CONTROL_RELOAD)
		log_notice("reload requested over the control socket");
	answer(cl, control_reply(cl->c->view, cmd, cl->c->started));
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	client_request(arg, false);
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *cl = arg;

	/* A client that sends "peers" without a newline and shuts its side
	 * down (printf peers | socat) has still asked something. */
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !cl->answered) {
		client_request(cl, true);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_limited(&control_log_limit, LOG_INFO, "control: dropped a client that took more than %d s",
			    CONTROL_TIMEOUT_S);
	client_free(cl);
}

/* ---- accepting ---- */

static void refuse(evutil_socket_t fd)
{
	static const char busy[] = "{\"error\":\"too many control connections; try again\"}\n";

	/* A fresh, non-blocking socket takes a line this short at once. */
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL) < 0) {
		/* the client is gone already */
	}
	close(fd);
}

static void accept_cb(struct evconnlistener *listener, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	struct control *c = arg;
	struct timeval timeout = { .tv_sec = CONTROL_TIMEOUT_S };
	struct client *cl;

	if (c->client_count >= CONTROL_CLIENTS_MAX) {
		log_limited(&control_log_limit, LOG_INFO, "control: %d clients already connected; refused one",
			    CONTROL_CLIENTS_MAX);
		refuse(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl)
		cl->bev = bufferevent_socket_new(c->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!cl || !cl->bev) {
		free(cl);
		close(fd);
		return;
	}
	cl->c = c;
	cl->next = c->clients;
	if (c->clients)
		c->clients->prev = cl;
	c->clients = cl;
	c->client_count++;
	bufferevent_setcb(cl->bev, client_read_cb, NULL, client_event_cb, cl);
	bufferevent_set_timeouts(cl->bev, &timeout, &timeout);
	/* Stop reading at the request bound: a longer line is refused anyway. */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CONTROL_REQUEST_MAX);
	bufferevent_enable(cl->bev, EV_READ);
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *c = arg;

	evconnlistener_enable(c->listener);
}

/* Out of descriptors (EMFILE) the listening socket stays readable: pause
 * accepting for a moment instead of spinning on it. */
static void accept_error_cb(struct evconnlistener *listener, void *arg)
{
	struct control *c = arg;
	struct timeval pause = { .tv_sec = CONTROL_ACCEPT_PAUSE_S };
	int err = EVUTIL_SOCKET_ERROR();

	log_limited(&control_log_limit, LOG_WARNING, "control: accept: %s", strerror(err));
	evconnlistener_disable(listener);
	evtimer_add(c->resume, &pause);
}

/* ---- the socket file ---- */

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Remove a socket left by a run that did not exit cleanly; never a file that
 * is not a socket, and never a socket some process still listens on. Returns
 * NULL when the path is free, else why it is not. */
static const char *clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;

	if (lstat(sun->sun_path, &st) != 0)
		return errno == ENOENT ? NULL : strerror(errno);
	if (!S_ISSOCK(st.st_mode))
		return "exists and is not a socket";
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return strerror(errno);
	int rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int err = errno;
	close(fd);
	if (rc == 0 || err == EAGAIN)
		return "another process is listening on it (is another sipnatd running?)";
	if (unlink(sun->sun_path) != 0 && errno != ENOENT)
		return strerror(errno);
	return NULL;
}

static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	snprintf(out, len, "%.*s", (int)n, path);
}

/* A socket bound to path, 0660, or -1 after logging why not. */
static int listen_socket(const struct sockaddr_un *sun, struct stat *st)
{
	char dir[sizeof(sun->sun_path)];
	const char *why;
	int fd, err;

	why = clear_stale(sun);
	if (why) {
		log_warn("control socket %s: %s; running without it", sun->sun_path, why);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("control socket: %s; running without it", strerror(errno));
		return -1;
	}
	/* bind() creates the file with the umask applied: set it so that the
	 * mode is right from the first instant, not after a chmod. */
	mode_t old = umask(CONTROL_SOCKET_UMASK);
	int rc = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	err = errno;
	umask(old);
	if (rc == 0 && lstat(sun->sun_path, st) == 0)
		return fd;
	close(fd);
	if (err == ENOENT) {
		dir_of(sun->sun_path, dir, sizeof(dir));
		log_warn("control socket %s: directory %s does not exist; running without it "
			 "(sipnatctl will not work; under systemd RuntimeDirectory= creates it)",
			 sun->sun_path, dir);
	} else {
		log_warn("control socket %s: %s; running without it", sun->sun_path, strerror(err));
	}
	return -1;
}

struct control *control_open(struct event_base *base, const char *path,
			     const struct control_view *view)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control *c;
	struct stat st;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warn("control socket %s: path longer than %zu bytes; running without it", path,
			 sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = listen_socket(&sun, &st);
	if (fd < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c) {
		c->base = base;
		c->view = view;
		c->started = monotonic_s();
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		memcpy(c->path, sun.sun_path, sizeof(c->path));
		c->resume = evtimer_new(base, resume_cb, c);
		c->listener = evconnlistener_new(base, accept_cb, c,
						 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
						 CONTROL_BACKLOG, fd);
	}
	if (!c || !c->resume || !c->listener) {
		log_warn("control socket %s: cannot listen: %s; running without it", path,
			 c && c->resume ? strerror(errno) : "out of memory");
		if (!c || !c->listener)
			close(fd);
		if (c)
			control_close(c);   /* removes the file too */
		else
			unlink(sun.sun_path);
		return NULL;
	}
	evconnlistener_set_error_cb(c->listener, accept_error_cb);
	log_info("control socket at %s", path);
	return c;
}

void control_close(struct control *c)
{
	struct stat st;

	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	if (c->listener)
		evconnlistener_free(c->listener);
	if (c->resume)
		event_free(c->resume);
	/* A newer sipnatd may have taken the path over; leave its socket be. */
	if (c->path[0] && lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	free(c);
}
