/**
 * Signs the page out after a stretch without input: any key press, click, pointer move or scroll
 * restarts the clock; when it runs out the API key is dropped and `onExpire` runs.
 */
import { forget } from "./api";

const ACTIVITY = ["keydown", "pointerdown", "pointermove", "wheel", "scroll", "touchstart"] as const;

export function watchIdle(idleSeconds: number, onExpire: () => void): () => void {
  let timer: number | undefined;
  const expire = () => {
    forget();
    onExpire();
  };
  const restart = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(expire, idleSeconds * 1000);
  };
  for (const name of ACTIVITY) window.addEventListener(name, restart, { passive: true, capture: true });
  restart();
  return () => {
    window.clearTimeout(timer);
    for (const name of ACTIVITY) window.removeEventListener(name, restart, { capture: true });
  };
}
