// SPDX-License-Identifier: MIT
#include "cw_test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "coredump_socket.h"

/* A request as a kernel would lay it out: size, size_ack, mask, then whatever a later one adds. */
static size_t request(unsigned char *buf, uint32_t size, uint32_t size_ack, uint64_t mask)
{
	memset(buf, 0xab, CW_COREDUMP_REQ_SIZE_MAX + 8);
	memcpy(buf, &size, 4);
	memcpy(buf + 4, &size_ack, 4);
	memcpy(buf + 8, &mask, 8);
	return size;
}

#define ALL (CW_COREDUMP_KERNEL | CW_COREDUMP_USERSPACE | CW_COREDUMP_REJECT | CW_COREDUMP_WAIT)

static void a_first_version_request_is_taken(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r;
	size_t n = request(buf, 16, 16, ALL);

	(void)state;
	assert_int_equal(cw_coredump_req_parse(buf, n, &r), 0);
	assert_int_equal(r.size, 16);
	assert_int_equal(r.size_ack, 16);
	assert_int_equal(r.mask, ALL);
}

static void a_later_kernels_longer_request_is_taken(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r;

	(void)state;
	/* Fields we do not know are skipped; a larger ack size is fine (we send 16). */
	assert_int_equal(cw_coredump_req_parse(buf, request(buf, 40, 24, ALL | 1u << 9), &r), 0);
	assert_int_equal(r.size, 40);
	assert_int_equal(r.mask, ALL | 1u << 9);
	assert_int_equal(
		cw_coredump_req_parse(buf, request(buf, CW_COREDUMP_REQ_SIZE_MAX, 16, ALL), &r), 0);
}

static void short_requests_are_refused(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r = {0};

	(void)state;
	request(buf, 16, 16, ALL);
	assert_int_equal(cw_coredump_req_parse(buf, 0, &r), -EBADMSG);
	assert_int_equal(cw_coredump_req_parse(buf, 4, &r), -EBADMSG);
	assert_int_equal(cw_coredump_req_parse(buf, 15, &r), -EBADMSG);
	/* A size field below the first version, even with 16 bytes read. */
	request(buf, 8, 16, ALL);
	assert_int_equal(cw_coredump_req_parse(buf, 16, &r), -EBADMSG);
	assert_int_equal(r.size, 0); /* nothing filled */
}

static void oversized_requests_are_refused(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r;

	(void)state;
	request(buf, CW_COREDUMP_REQ_SIZE_MAX + 1, 16, ALL);
	assert_int_equal(cw_coredump_req_parse(buf, CW_COREDUMP_REQ_SIZE_MAX + 1, &r), -EMSGSIZE);
	request(buf, UINT32_MAX, 16, ALL);
	assert_int_equal(cw_coredump_req_parse(buf, 16, &r), -EMSGSIZE);
}

static void a_size_field_that_disagrees_is_refused(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r;

	(void)state;
	/* Says 24, but 16 came (or 32 were read as one request). */
	request(buf, 24, 16, ALL);
	assert_int_equal(cw_coredump_req_parse(buf, 16, &r), -EBADMSG);
	assert_int_equal(cw_coredump_req_parse(buf, 32, &r), -EBADMSG);
}

static void a_request_we_cannot_answer_is_refused(void **state)
{
	unsigned char buf[CW_COREDUMP_REQ_SIZE_MAX + 8];
	struct cw_coredump_req r;

	(void)state;
	/* The kernel reads fewer ack bytes than the first version has. */
	assert_int_equal(cw_coredump_req_parse(buf, request(buf, 16, 8, ALL), &r), -EPROTO);
	assert_int_equal(cw_coredump_req_parse(buf, request(buf, 16, 0, ALL), &r), -EPROTO);
	/* No answer offered at all (WAIT alone is not one). */
	assert_int_equal(cw_coredump_req_parse(buf, request(buf, 16, 16, 0), &r), -EPROTO);
	assert_int_equal(cw_coredump_req_parse(buf, request(buf, 16, 16, CW_COREDUMP_WAIT), &r),
			 -EPROTO);
}

/* A socket pair stands for the kernel's connection: what our answer sends, and the mark read. */
static void answers_are_checked_before_they_are_sent(void **state)
{
	struct cw_coredump_conn c = CW_COREDUMP_CONN_INIT;
	struct cw_coredump_ack ack;
	uint32_t mark = CW_COREDUMP_MARK_REQACK;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.fd = sv[0];
	c.req = (struct cw_coredump_req){16, 16, CW_COREDUMP_KERNEL | CW_COREDUMP_REJECT};
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_USERSPACE), -EOPNOTSUPP);
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_KERNEL | CW_COREDUMP_WAIT),
			 -EOPNOTSUPP);
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_KERNEL | CW_COREDUMP_REJECT),
			 -EINVAL);
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_WAIT), -EINVAL);
	assert_int_equal(cw_coredump_socket_answer(&c, (enum cw_coredump_mode)(1u << 7)), -EINVAL);
	assert_int_equal(recv(sv[1], &ack, sizeof(ack), MSG_DONTWAIT), -1); /* nothing sent */
	assert_int_equal(write(sv[1], &mark, sizeof(mark)), sizeof(mark));
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_REJECT), 0);
	assert_int_equal(recv(sv[1], &ack, sizeof(ack), 0), sizeof(ack));
	assert_int_equal(ack.size, 16);
	assert_int_equal(ack.spare, 0);
	assert_int_equal(ack.mask, CW_COREDUMP_REJECT);
	assert_int_equal(c.answered, CW_COREDUMP_REJECT);
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_REJECT), -EALREADY);
	c.pidfd = -1;
	cw_coredump_conn_close(&c);
	assert_int_equal(c.fd, -1);
	cw_coredump_conn_close(&c); /* twice is fine */
	close(sv[1]);
}

static void a_refusing_mark_is_an_error(void **state)
{
	struct cw_coredump_conn c = CW_COREDUMP_CONN_INIT;
	uint32_t mark = CW_COREDUMP_MARK_CONFLICTING;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.fd = sv[0];
	c.req = (struct cw_coredump_req){16, 16, ALL};
	assert_int_equal(write(sv[1], &mark, sizeof(mark)), sizeof(mark));
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_KERNEL), -EPROTO);
	assert_int_equal(c.mark, CW_COREDUMP_MARK_CONFLICTING);
	cw_coredump_conn_close(&c);
	/* The peer is gone before our ack: an error, not a signal. */
	c = (struct cw_coredump_conn)CW_COREDUMP_CONN_INIT;
	c.fd = sv[1];
	c.req = (struct cw_coredump_req){16, 16, ALL};
	assert_int_equal(cw_coredump_socket_answer(&c, CW_COREDUMP_KERNEL), -EPIPE);
	cw_coredump_conn_close(&c);
}

/* Anyone but the kernel (here: ourselves, not dumping core) is turned away. */
static void a_peer_that_is_not_dumping_is_refused(void **state)
{
	char dir[] = "/tmp/cw-test-cdsock.XXXXXX", path[64], err[256] = "";
	struct cw_coredump_conn c;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned char req[CW_COREDUMP_REQ_SIZE_MAX + 8];
	int lfd, cfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	assert_int_equal(cw_coredump_socket_listen("relative/s", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "failed to listen on relative/s"));
	lfd = cw_coredump_socket_listen(path, err, sizeof(err));
	assert_true(lfd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(request(req, 16, 16, ALL), 16);
	assert_int_equal(write(cfd, req, 16), 16);
	assert_int_equal(cw_coredump_socket_accept(lfd, &c, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "not dumping core"));
	assert_int_equal(c.fd, -1);
	assert_int_equal(c.pidfd, -1);
	/* Closed without an ack (reset: our request was left unread). */
	assert_int_equal(read(cfd, req, sizeof(req)), -1);
	assert_int_equal(errno, ECONNRESET);
	close(cfd);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(a_first_version_request_is_taken),
	cmocka_unit_test(a_later_kernels_longer_request_is_taken),
	cmocka_unit_test(short_requests_are_refused),
	cmocka_unit_test(oversized_requests_are_refused),
	cmocka_unit_test(a_size_field_that_disagrees_is_refused),
	cmocka_unit_test(a_request_we_cannot_answer_is_refused),
	cmocka_unit_test(answers_are_checked_before_they_are_sent),
	cmocka_unit_test(a_refusing_mark_is_an_error),
	cmocka_unit_test(a_peer_that_is_not_dumping_is_refused),
};

CW_TEST_MAIN(tests)
