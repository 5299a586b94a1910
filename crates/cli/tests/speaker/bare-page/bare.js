// The bare page: a 1 kHz click of 12 ms every 0.5 s of context time, all scheduled before the
// first plays, and nothing else on the click's path (no session, no clock sync, no timer).
// `#n=N`: N clicks, one AudioBufferSourceNode each.
// `#loop`: one source looping half a second that holds one click, so the output never runs dry
//   (as the phone page's AudioWorklet never does).
// Once a second the page reads its clock: [performance.now(), currentTime, the output timestamp's
// contextTime and performanceTime] into `floor.pairs`.
window.floor = { running: false, scheduled: 0, pairs: [], states: [] };
const q = new URLSearchParams(location.hash.slice(1));

document.getElementById('go').onclick = () => {
  const ctx = new AudioContext();
  const rate = ctx.sampleRate;
  const n = Math.round(rate * 0.012);
  const click = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    click[i] = 0.8 * Math.sin((2 * Math.PI * 1000 * i) / rate) * Math.exp(-i / (rate * 0.003));
  }
  ctx.onstatechange = () => floor.states.push([performance.now(), ctx.state]);
  const read = () => {
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : {};
    floor.pairs.push([performance.now(), ctx.currentTime, ts.contextTime ?? null, ts.performanceTime ?? null]);
  };
  ctx.resume().then(() => {
    const first = Math.ceil(ctx.currentTime) + 1;
    if (q.has('loop')) {
      const beat = ctx.createBuffer(1, Math.round(rate / 2), rate);
      beat.getChannelData(0).set(click);
      const s = ctx.createBufferSource();
      s.buffer = beat;
      s.loop = true;
      s.connect(ctx.destination);
      s.start(first);
      floor.scheduled = 1;
    } else {
      const buf = ctx.createBuffer(1, n, rate);
      buf.getChannelData(0).set(click);
      for (let k = 0; k < Number(q.get('n')); k++) {
        const s = ctx.createBufferSource();
        s.buffer = buf;
        s.connect(ctx.destination);
        s.start(first + k * 0.5);
      }
      floor.scheduled = Number(q.get('n'));
    }
    floor.rate = rate;
    floor.running = true;
    read();
    setInterval(read, 1000);
  });
};
