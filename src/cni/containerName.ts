// The DNS name a container gets from what the runtime tells about it:
// Kubernetes runtimes pass K8S_POD_NAME and K8S_POD_NAMESPACE in CNI_ARGS
// (the name becomes pod.namespace); podman passes its container name as
// K8S_POD_NAME. Characters a DNS label cannot hold become '-'.

export function containerDnsName(args: Map<string, string>): string | null {
  const pod = label(args.get('K8S_POD_NAME'));
  if (!pod) return null;
  const namespace = label(args.get('K8S_POD_NAMESPACE'));
  return namespace ? `${pod}.${namespace}` : pod;
}

function label(text: string | undefined): string | null {
  const l = (text ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return l || null;
}
