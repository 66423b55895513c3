package server

import "muninn/muxproto"

func errRefusedForTest() error { return muxproto.ErrHandshakeRefused }
