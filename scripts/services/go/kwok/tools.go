//go:build tools

// Package tools pins kwok's main package so `go mod tidy` keeps its dependencies. kwok simulates
// nodes and Pod lifecycles without a kubelet, driven by Stage objects (see servers/kwok.ts).
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
