/*
 * The benchmark's baseline: a FastCGI responder that reads the request and answers a
 * JSON body of the same size as POST /developer/push does, doing nothing else. It uses
 * libfcgi directly, so the comparison measures herald's own work.
 */
#include <string.h>
#include <fcgiapp.h>

int
main(void)
{
	static const char body[] =
	    "{\"push_count\":2,\"app_user_id\":\"bench-user\","
	    "\"app_id\":\"00000000-0000-4000-8000-000000000000\"}";
	FCGX_Request r;
	char buf[8192];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		while (FCGX_GetStr(buf, sizeof(buf), r.in) > 0)
			;
		FCGX_FPrintF(r.out, "Status: 201 Created\r\nContent-Type: application/json; "
		    "charset=utf-8\r\nContent-Length: %lu\r\n\r\n%s", (unsigned long)strlen(body), body);
		FCGX_Finish_r(&r);
	}
	return 0;
}
