/* A pod's own network namespace, as far as listening sockets go (LD_PRELOADed into pod processes).
 *
 * Every pod the runner starts shares the machine's network, so two pods listening on the same port
 * (two TensorFlow workers on 2222) would collide where real pods would not. Each pod has its own
 * loopback IP instead (MODELOPS_POD_IP); this turns a bind to the wildcard address (0.0.0.0, or ::
 * on a dual-stack socket) into a bind to that IP, so each pod's servers listen on its IP alone.
 * Binds to any other address pass through unchanged.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_function)(int, const struct sockaddr *, socklen_t);

int bind(int fd, const struct sockaddr *address, socklen_t length) {
    static bind_function real_bind = NULL;
    if (real_bind == NULL) {
        real_bind = (bind_function)dlsym(RTLD_NEXT, "bind");
    }
    const char *pod_ip = getenv("MODELOPS_POD_IP");
    struct in_addr pod;
    if (address == NULL || pod_ip == NULL || inet_pton(AF_INET, pod_ip, &pod) != 1) {
        return real_bind(fd, address, length);
    }
    if (address->sa_family == AF_INET && length >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in v4 = *(const struct sockaddr_in *)address;
        if (v4.sin_addr.s_addr == htonl(INADDR_ANY)) {
            v4.sin_addr = pod;
            return real_bind(fd, (const struct sockaddr *)&v4, sizeof v4);
        }
    } else if (address->sa_family == AF_INET6 && length >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 v6 = *(const struct sockaddr_in6 *)address;
        if (IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr)) {  /* :: -> ::ffff:<pod ip>, IPv4-mapped */
            memset(&v6.sin6_addr, 0, sizeof v6.sin6_addr);
            v6.sin6_addr.s6_addr[10] = 0xff;
            v6.sin6_addr.s6_addr[11] = 0xff;
            memcpy(&v6.sin6_addr.s6_addr[12], &pod, sizeof pod);
            return real_bind(fd, (const struct sockaddr *)&v6, sizeof v6);
        }
    }
    return real_bind(fd, address, length);
}
