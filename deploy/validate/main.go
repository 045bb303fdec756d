// Command validate renders the Kustomize manifests of deploy/ (with the
// kustomize library, no binary) and checks every object against the
// Kubernetes API types: each must decode strictly (no unknown or
// duplicate field, every value of the right type) into its kind's Go type
// of k8s.io/api, and the fleet's own rules must hold (probes on /readyz,
// a grace period longer than the drain timeout, a PodDisruptionBudget and
// an autoscaler for the nodes). It is a module of its own so that the
// Kubernetes libraries stay out of the Holocast module.
//
// Every container image must have its Dockerfile in deploy/images
// (NAME.Dockerfile for an image .../NAME:TAG), whose ENTRYPOINT is a binary
// built from cmd/NAME and whose USER is the pod's runAsUser: no container
// engine runs where this project builds, so this is what is checked of the
// images short of building them.
//
// Usage: go run . DIR... (each a directory with a kustomization.yaml)
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate DIR...")
		os.Exit(2)
	}
	failed := false
	for _, dir := range os.Args[1:] {
		objs, err := render(dir)
		if err == nil {
			err = check(objs)
		}
		if err == nil {
			err = checkImages(dir, objs)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d objects valid\n", dir, len(objs))
	}
	if failed {
		os.Exit(1)
	}
}

// render builds the kustomization in dir and decodes every object
// strictly into its Kubernetes type.
func render(dir string) ([]runtime.Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize: %w", err)
	}
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme} {
		if err := add(scheme); err != nil {
			return nil, err
		}
	}
	dec := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
	var objs []runtime.Object
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		obj, gvk, err := dec.Decode(y, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
		if gvk.Kind == "" {
			return nil, fmt.Errorf("%s: no kind", r.GetName())
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// check applies the fleet's rules to the rendered objects.
func check(objs []runtime.Object) error {
	var errs []error
	deps := map[string]*appsv1.Deployment{}
	pdbs := map[string]bool{}
	hpas := map[string]bool{}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			deps[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			pdbs[o.Spec.Selector.MatchLabels["app.kubernetes.io/name"]] = true
		case *autoscalingv2.HorizontalPodAutoscaler:
			hpas[o.Spec.ScaleTargetRef.Name] = true
			if len(o.Spec.Metrics) == 0 || o.Spec.Metrics[0].Pods == nil || o.Spec.Metrics[0].Pods.Metric.Name != "holocast_sessions_active" {
				errs = append(errs, fmt.Errorf("HPA %s does not scale on holocast_sessions_active", o.Name))
			}
		}
	}
	for _, name := range []string{"holocast-gateway", "holocast-node"} {
		d := deps[name]
		if d == nil {
			errs = append(errs, fmt.Errorf("no Deployment %s", name))
			continue
		}
		if !pdbs[name] {
			errs = append(errs, fmt.Errorf("no PodDisruptionBudget for %s", name))
		}
		c := d.Spec.Template.Spec.Containers[0]
		if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" {
			errs = append(errs, fmt.Errorf("%s: readiness probe is not GET /readyz", name))
		}
		if !hasArg(c.Args, "--nats") {
			errs = append(errs, fmt.Errorf("%s: no --nats", name))
		}
	}
	if d := deps["holocast-node"]; d != nil {
		errs = append(errs, checkNode(d, hpas["holocast-node"]))
	}
	return errors.Join(errs...)
}

// checkNode checks the render nodes' Deployment.
func checkNode(d *appsv1.Deployment, hpa bool) error {
	var errs []error
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	drain := 30 * time.Second // holocast-node's default --drain-timeout
	if v, ok := argValue(c.Args, "--drain-timeout"); ok {
		var err error
		if drain, err = time.ParseDuration(v); err != nil {
			errs = append(errs, fmt.Errorf("--drain-timeout %q: %w", v, err))
		}
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= drain {
		errs = append(errs, fmt.Errorf("holocast-node: terminationGracePeriodSeconds must exceed --drain-timeout %v", drain))
	}
	if !hpa {
		errs = append(errs, errors.New("no HorizontalPodAutoscaler for holocast-node"))
	}
	port, ok := argValue(c.Args, "--udp-port")
	if !ok {
		errs = append(errs, errors.New("holocast-node: no --udp-port (single-UDP-port mode)"))
	}
	found := false
	for _, p := range c.Ports {
		if p.Protocol == corev1.ProtocolUDP && strconv.Itoa(int(p.ContainerPort)) == port && (spec.HostNetwork || p.HostPort == p.ContainerPort) {
			found = true
		}
	}
	if !found {
		errs = append(errs, fmt.Errorf("holocast-node: UDP port %s is not reachable on the host (hostNetwork or hostPort)", port))
	}
	if v, _ := argValue(c.Args, "--nat-ip"); v == "" {
		errs = append(errs, errors.New("holocast-node: no --nat-ip"))
	}
	if _, ok := argValue(c.Args, "--max-sessions"); !ok {
		errs = append(errs, errors.New("holocast-node: no --max-sessions"))
	}
	return errors.Join(errs...)
}

func argValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func hasArg(args []string, name string) bool {
	_, ok := argValue(args, name)
	return ok
}

// repoRoot is the first directory at or above dir that holds cmd/ and
// deploy/images/.
func repoRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(d, "deploy", "images")); err == nil && st.IsDir() {
			if st, err := os.Stat(filepath.Join(d, "cmd")); err == nil && st.IsDir() {
				return d, nil
			}
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("no repository root (cmd/ and deploy/images/) above %s", dir)
		}
		d = up
	}
}

var (
	entrypointRE = regexp.MustCompile(`(?m)^ENTRYPOINT \["/usr/local/bin/([a-z0-9-]+)"`)
	userRE       = regexp.MustCompile(`(?m)^USER ([0-9]+)(?::[0-9]+)?$`)
)

// checkImages checks that every Deployment's container image has a
// Dockerfile in deploy/images that builds and runs one of the cmd/
// binaries as the user the pod runs as.
func checkImages(dir string, objs []runtime.Object) error {
	root, err := repoRoot(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range objs {
		d, ok := o.(*appsv1.Deployment)
		if !ok {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			name := c.Image[strings.LastIndexByte(c.Image, '/')+1:]
			if i := strings.IndexAny(name, ":@"); i >= 0 {
				name = name[:i]
			}
			file := filepath.Join(root, "deploy", "images", name+".Dockerfile")
			b, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: image %s has no Dockerfile: %w", d.Name, c.Image, err))
				continue
			}
			text := string(b)
			m := entrypointRE.FindStringSubmatch(text)
			if m == nil {
				errs = append(errs, fmt.Errorf("%s: no ENTRYPOINT [\"/usr/local/bin/BINARY\"] (the manifests give only args)", file))
				continue
			}
			if st, err := os.Stat(filepath.Join(root, "cmd", m[1])); err != nil || !st.IsDir() {
				errs = append(errs, fmt.Errorf("%s: ENTRYPOINT %s is none of cmd/", file, m[1]))
			}
			if !strings.Contains(text, "./cmd/"+m[1]) {
				errs = append(errs, fmt.Errorf("%s: does not build ./cmd/%s", file, m[1]))
			}
			u := userRE.FindStringSubmatch(text)
			sc := d.Spec.Template.Spec.SecurityContext
			switch {
			case u == nil || u[1] == "0":
				errs = append(errs, fmt.Errorf("%s: no numeric non-root USER", file))
			case sc != nil && sc.RunAsUser != nil && strconv.FormatInt(*sc.RunAsUser, 10) != u[1]:
				errs = append(errs, fmt.Errorf("%s: USER %s, but %s runs as %d", file, u[1], d.Name, *sc.RunAsUser))
			}
		}
	}
	return errors.Join(errs...)
}
