/* hostname.c: host names (see hostname.h). */
#include "hostname.h"

int
gw_host_name_valid(const char *h, size_t n)
{
    if (n == 0 || n > 253 || h[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = h[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || (ch == '.' && (i + 1 == n || h[i + 1] != '.'))))
            return 0;
    }
    return 1;
}
