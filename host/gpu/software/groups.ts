// The software plan's bind groups for one set of work buffers. BPTT ping-pongs: the recurrent gradient w.r.t. h_j
// lives in dhrec{j % 2}, and the h_k uniform copies in hw{k % 2}; pairs are indexed by that parity.
import type { Program } from '../program.js';
import { weightGradOperands, type WorkBuffers } from '../ops/work.js';
import type { SoftwarePrograms } from './programs.js';
import type { SoftwareWindows } from './windows.js';

type Pair = [GPUBindGroup, GPUBindGroup];

export interface SoftwareGroups {
  inputProj: GPUBindGroup;
  gruForward: GPUBindGroup;
  gruForwardUw?: GPUBindGroup;
  gruForwardUwh?: Pair;
  dense: GPUBindGroup[];
  denseUw: (GPUBindGroup | undefined)[];
  back: GPUBindGroup[];
  backUw: (GPUBindGroup | undefined)[];
  wg: GPUBindGroup[];
  wgUw: (GPUBindGroup | undefined)[];
  wgHhUwd?: GPUBindGroup;
  gates: Pair;
  gatesW?: Pair;
  hidden: Pair;
  hiddenUw?: Pair;
  hiddenUwd?: Pair;
}

export function softwareGroups(
  p: SoftwarePrograms,
  win: SoftwareWindows,
  buf: WorkBuffers,
  fixed: { params: GPUBuffer; grad: GPUBuffer; step: GPUBuffer },
): SoftwareGroups {
  const all = { ...buf, ...fixed };
  const pair = (
    prog: Program,
    a: Record<string, GPUBuffer | undefined>,
    b: Record<string, GPUBuffer | undefined>,
  ): Pair => [prog.bind({ ...all, ...a }), prog.bind({ ...all, ...b })];
  const whh = win.whh;
  const w3 = whh ? { wr: whh.buf, wz: whh.buf, wn: whh.buf, win: whh.records } : {};
  const decIo: [GPUBuffer, GPUBuffer][] = [
    [buf.h, buf.a1],
    [buf.a1, buf.a2],
    [buf.a2, buf.a3],
    [buf.a3, buf.dec],
  ];
  const backIo: [GPUBuffer, GPUBuffer, GPUBuffer][] = [
    [buf.dout, buf.a3, buf.d3],
    [buf.d3, buf.a2, buf.d2],
    [buf.d2, buf.a1, buf.d1],
    [buf.d1, buf.a1, buf.dhdec],
  ];
  const wgIo = weightGradOperands(buf);
  const dhrec = (j: number) => (j ? buf.dhrec1 : buf.dhrec0);
  const hiddenIo = (j: number) => ({ dhin: dhrec(j), dhout: dhrec(1 - j) });
  const backWin = whh ? { part: buf.dhpart, w: whh.buf, win: whh.recordsBwd } : {};
  return {
    inputProj: p.inputProj.bind(all),
    gruForward: p.gruForward.bind(all),
    gruForwardUw: p.gruForwardUw?.bind({ ...all, ...w3 }),
    gruForwardUwh: p.gruForwardUwh
      ? pair(
          p.gruForwardUwh,
          { ...w3, hw: buf.hw0, hwn: buf.hw1, blk: win.hBlocks },
          { ...w3, hw: buf.hw1, hwn: buf.hw0, blk: win.hBlocks },
        )
      : undefined,
    dense: p.dense.map((prog, j) => prog.bind({ ...all, inp: decIo[j]![0], outp: decIo[j]![1] })),
    denseUw: p.denseUw.map((d, j) =>
      d?.prog.bind({ ...all, inp: decIo[j]![0], outp: decIo[j]![1], w: win.dense?.buf, win: win.dense?.records }),
    ),
    back: p.denseBack.map((prog, j) =>
      prog.bind({ ...all, dout: backIo[j]![0], act: backIo[j]![1], din: backIo[j]![2] }),
    ),
    backUw: p.backUw.map((d, j) =>
      d?.prog.bind({
        ...all,
        dout: backIo[j]![0],
        act: backIo[j]![1],
        din: backIo[j]![2],
        w: win.back?.buf,
        win: win.back?.records,
      }),
    ),
    wg: p.wgrad.map((prog, j) => prog.bind({ ...all, dout: wgIo[j]![0], inp: wgIo[j]![1] })),
    wgUw: p.wgUw.map((d, j) =>
      d?.prog.bind({ ...all, dout: wgIo[j]![0], inp: wgIo[j]![1], part: win.wgPart, win: win.wgRecords }),
    ),
    wgHhUwd: p.wgradHhUwd?.bind({
      ...all,
      dg: buf.dghw,
      inp: buf.h,
      part: win.wgPart,
      wd: whh?.recordsBwd,
      win: win.wgRecords,
    }),
    gates: pair(p.gates, { dhrec: buf.dhrec0 }, { dhrec: buf.dhrec1 }),
    gatesW: p.gatesW ? pair(p.gatesW, { dhrec: buf.dhrec0 }, { dhrec: buf.dhrec1 }) : undefined,
    hidden: pair(p.hidden, hiddenIo(0), hiddenIo(1)),
    hiddenUw: p.hiddenUw ? pair(p.hiddenUw, { ...hiddenIo(0), ...backWin }, { ...hiddenIo(1), ...backWin }) : undefined,
    hiddenUwd: p.hiddenUwd
      ? pair(
          p.hiddenUwd,
          { ...hiddenIo(0), ...backWin, dg: buf.dghw, blk: win.dghBlocks },
          { ...hiddenIo(1), ...backWin, dg: buf.dghw, blk: win.dghBlocks },
        )
      : undefined,
  };
}
