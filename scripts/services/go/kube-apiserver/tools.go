//go:build tools

// Package tools pins the control-plane main packages so `go mod tidy` keeps their dependencies:
// kube-apiserver, and the controller manager and scheduler that make the local cluster behave
// like one (Deployments make Pods, PVCs bind, namespaces finish deleting).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
