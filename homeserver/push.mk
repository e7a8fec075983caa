# homeserver/push.mk: push rules and notification counts, part of
# libscophs.a.
homeserver_libscophs_a_SOURCES += \
	homeserver/api_push.c homeserver/api_push.h
