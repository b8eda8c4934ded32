// Preloaded (NODE_OPTIONS=--require) into Node programs started by `oauthtrace record -- COMMAND`.
//
// Node's built-in fetch ignores HTTP_PROXY/HTTPS_PROXY unless NODE_USE_ENV_PROXY=1, which Node reads only from
// v22.21.0 and v24.0.0 on (https://nodejs.org/en/learn/http/enterprise-network-configuration). Older Node bundles
// undici but does not let programs require it, so this reaches the global dispatcher that fetch uses and replaces
// it with an Agent of the same class whose connections are tunnelled through the proxy with CONNECT (for http://
// too: mitmproxy reads plain HTTP inside a tunnel). Only fetch is affected; node:http and node:https are not.
'use strict';

(function routeFetchThroughProxy() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major >= 24 || (major === 22 && minor >= 21)) return; // NODE_USE_ENV_PROXY=1 (also set) does it there
  const env = process.env;
  const proxies = {
    'https:': env.HTTPS_PROXY || env.https_proxy,
    'http:': env.HTTP_PROXY || env.http_proxy,
  };
  if (!proxies['https:'] && !proxies['http:']) return;
  const net = require('node:net');
  const tls = require('node:tls');

  void globalThis.Response; // loading Node's undici installs its global dispatcher, an Agent
  const key = Symbol.for('undici.globalDispatcher.1');
  const Agent = globalThis[key] && globalThis[key].constructor;
  if (typeof Agent !== 'function') return;

  function connect(options, callback) {
    const proxy = proxies[options.protocol];
    const port = options.port || (options.protocol === 'https:' ? 443 : 80);
    const target = `${options.hostname}:${port}`;
    let settled = false;
    const finish = (error, socket) => {
      if (settled) return;
      settled = true;
      callback(error, socket);
    };
    if (!proxy) { // only one of HTTP_PROXY/HTTPS_PROXY set: the other scheme goes direct
      const socket = options.protocol === 'https:'
        ? tls.connect({ host: bare(options.hostname), port, servername: serverName(options), ALPNProtocols: ['http/1.1'] })
        : net.connect(port, bare(options.hostname));
      socket.once(options.protocol === 'https:' ? 'secureConnect' : 'connect', () => finish(null, socket));
      socket.once('error', (error) => finish(error));
      return;
    }
    const { hostname, port: proxyPort } = new URL(proxy);
    const tunnel = net.connect(Number(proxyPort) || 80, bare(hostname));
    let head = Buffer.alloc(0);
    const onError = (error) => { tunnel.destroy(); finish(error); };
    tunnel.once('error', onError);
    tunnel.once('connect', () => tunnel.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    tunnel.on('data', function onData(chunk) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      tunnel.removeListener('data', onData);
      tunnel.removeListener('error', onError);
      const status = head.toString('latin1', 0, head.indexOf('\r\n'));
      if (!/^HTTP\/1\.[01] 200/.test(status)) {
        tunnel.destroy();
        finish(new Error(`the proxy ${proxy} refused CONNECT ${target}: ${status}`));
        return;
      }
      if (options.protocol !== 'https:') {
        finish(null, tunnel);
        return;
      }
      // `host` is what the certificate is checked against; without it Node checks for "localhost"
      const secure = tls.connect({ socket: tunnel, host: bare(options.hostname), servername: serverName(options),
                                   ALPNProtocols: ['http/1.1'] });
      secure.once('secureConnect', () => finish(null, secure));
      secure.once('error', (error) => finish(error));
    });
  }

  function bare(host) {
    return host.replace(/^\[|\]$/g, '');
  }

  function serverName(options) {
    const name = bare(options.servername || options.hostname);
    return net.isIP(name) ? undefined : name; // SNI carries names only
  }

  globalThis[key] = new Agent({ connect });
})();
