// The official socket.io-client, WebSocket only, reconnecting fast: prints `connect <socket id>
// <engine sid>` on each connection and `disconnect <reason>` on each disconnection, for
// `tests/faults.rs`, which freezes this process with SIGSTOP and thaws it with SIGCONT.
import { io } from 'socket.io-client';

const socket = io(process.argv[2], {
  transports: ['websocket'],
  reconnectionDelay: 100,
  reconnectionDelayMax: 200,
});
socket.on('connect', () => console.log(`connect ${socket.id} ${socket.io.engine.id}`));
socket.on('disconnect', (reason) => console.log(`disconnect ${reason}`));
// Never outlive the test.
setTimeout(() => process.exit(2), 60_000).unref();
