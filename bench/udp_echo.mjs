// udp_echo.mjs PORT REPLIES: the UDP bench's echo backend on 127.0.0.1:PORT (0 = a free port),
// answering every datagram REPLIES times; prints the bound port on its first line and runs until
// killed. It runs on Node, whose dgram sets the kernel's receive buffer (4 MiB asked; the kernel
// caps it at net.core.rmem_max), so a burst is queued, not dropped, at the backend: the backend is
// never what loses datagrams in the bench.
import dgram from "node:dgram";

const port = Number(process.argv[2] ?? 0);
const replies = Number(process.argv[3] ?? 2);
const socket = dgram.createSocket({
  type: "udp4",
  recvBufferSize: 4 << 20,
  sendBufferSize: 4 << 20,
});
socket.on("message", (msg, rinfo) => {
  for (let i = 0; i < replies; i++) socket.send(msg, rinfo.port, rinfo.address);
});
socket.bind(port, "127.0.0.1", () => console.log(socket.address().port));
