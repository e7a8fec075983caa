# federation/read.mk: read-only server-server endpoints and inbound EDUs,
# part of the federation service scopd links (libscopfedapi.a).
federation_libscopfedapi_a_SOURCES += \
	federation/api_read.c federation/api_read.h \
	federation/edu.c federation/edu.h
