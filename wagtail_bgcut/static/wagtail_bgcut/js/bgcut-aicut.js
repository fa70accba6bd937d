/* AI Cut editor: green (keep) and red (remove) dots; each change sends ALL dots with an
 * increasing request_number, and a reply older than the newest applied one is ignored, so a
 * slow reply can never overwrite a newer mask. Plain JS, registered on Wagtail's Stimulus app.
 *
 * The reply's mask is drawn here as an outline of the kept area plus a shade over what is removed
 * (its strength set by the editor; the kept area is never dimmed), and as a preview of the real
 * cut-out over a checkerboard, with a warning when nothing or everything is kept. */
(() => {
  const { Controller } = window.StimulusModule;
  const STEP = 0.02; // keyboard cursor step, as a share of the image size

  class AICutController extends Controller {
    static targets = [
      'editor', 'image', 'overlay', 'dots', 'cursor', 'mode', 'undo', 'clear', 'save', 'status',
      'error', 'strings', 'strength', 'preview', 'previewBox', 'previewEmpty', 'warning',
    ];

    static values = {
      segmentUrl: String,
      saveUrl: String,
      width: Number,
      height: Number,
      errorLabel: String,
      tinyBelow: { type: Number, default: 0.02 },
      fullAbove: { type: Number, default: 0.995 },
    };

    connect() {
      this.dots = []; // {x, y, kind} in original image pixels
      this.redMode = false;
      this.sent = 0; // last request_number sent
      this.applied = 0; // newest request_number whose reply was applied
      this.cursor = { x: 0.5, y: 0.5 };
      this.strings = this.hasStringsTarget ? this.stringsTarget.dataset : {};
    }

    get csrfToken() {
      const input = this.element.querySelector('input[name="csrfmiddlewaretoken"]');
      return input ? input.value : '';
    }

    toggleMode() {
      this.redMode = !this.redMode;
      this.modeTarget.setAttribute('aria-pressed', String(this.redMode));
      this.modeTarget.textContent = this.redMode ? this.strings.modeRed : this.strings.modeGreen;
    }

    add(event) {
      const rect = this.imageTarget.getBoundingClientRect();
      const fx = (event.clientX - rect.left) / rect.width;
      const fy = (event.clientY - rect.top) / rect.height;
      if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return;
      this.cursor = { x: fx, y: fy };
      this.addAt(fx, fy, event.shiftKey || this.redMode ? 'red' : 'green');
    }

    addAt(fx, fy, kind) {
      const x = Math.min(this.widthValue - 1, Math.max(0, Math.round(fx * this.widthValue)));
      const y = Math.min(this.heightValue - 1, Math.max(0, Math.round(fy * this.heightValue)));
      this.dots.push({ x, y, kind });
      this.changed();
    }

    undo() {
      if (!this.dots.length) return;
      this.dots.pop();
      this.changed();
    }

    clear() {
      this.dots = [];
      this.changed();
    }

    key(event) {
      const moves = {
        ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP],
      };
      if (moves[event.key]) {
        const [dx, dy] = moves[event.key];
        this.cursor = {
          x: Math.min(1, Math.max(0, this.cursor.x + dx)),
          y: Math.min(1, Math.max(0, this.cursor.y + dy)),
        };
        this.showCursor();
      } else if (event.key === 'Enter' || event.key === ' ') {
        this.addAt(this.cursor.x, this.cursor.y, event.shiftKey || this.redMode ? 'red' : 'green');
      } else if (event.key === 'u' || event.key === 'Backspace' || (event.key === 'z' && (event.ctrlKey || event.metaKey))) {
        this.undo();
      } else if (event.key === 'c' || event.key === 'Delete') {
        this.clear();
      } else if (event.key === 'm') {
        this.toggleMode();
      } else {
        return;
      }
      event.preventDefault();
    }

    showCursor() {
      this.cursorTarget.hidden = false;
      this.cursorTarget.style.left = `${this.cursor.x * 100}%`;
      this.cursorTarget.style.top = `${this.cursor.y * 100}%`;
    }

    hideCursor() {
      this.cursorTarget.hidden = true;
    }

    payload(requestNumber) {
      const pick = (kind) => this.dots.filter((d) => d.kind === kind).map((d) => [d.x, d.y]);
      return JSON.stringify({ green: pick('green'), red: pick('red'), request_number: requestNumber });
    }

    renderDots() {
      this.dotsTarget.replaceChildren(
        ...this.dots.map((d) => {
          const dot = document.createElement('span');
          dot.className = `bgcut-dot bgcut-dot--${d.kind}`;
          dot.dataset.kind = d.kind;
          dot.style.left = `${(d.x / this.widthValue) * 100}%`;
          dot.style.top = `${(d.y / this.heightValue) * 100}%`;
          return dot;
        }),
      );
      const hasDots = this.dots.length > 0;
      this.undoTarget.disabled = !hasDots;
      this.clearTarget.disabled = !hasDots;
      if (this.hasSaveTarget) this.saveTarget.disabled = !this.dots.some((d) => d.kind === 'green');
    }

    async changed() {
      this.renderDots();
      this.errorTarget.hidden = true;
      this.sent += 1;
      const number = this.sent;
      if (!this.dots.some((d) => d.kind === 'green')) {
        // Nothing to keep: no request, and any reply still in flight is now stale.
        this.applied = number;
        this.overlayTarget.hidden = true;
        this.overlayTarget.removeAttribute('src');
        this.mask = null;
        if (this.hasPreviewBoxTarget) this.previewBoxTarget.hidden = true;
        if (this.hasPreviewEmptyTarget) this.previewEmptyTarget.hidden = false;
        if (this.hasWarningTarget) this.warningTarget.hidden = true;
        this.element.dataset.appliedRequest = String(number);
        this.statusTarget.textContent = this.strings.none;
        return;
      }
      this.statusTarget.textContent = this.strings.working;
      this.element.dataset.busy = 'true';
      try {
        const response = await fetch(this.segmentUrlValue, {
          method: 'POST',
          credentials: 'same-origin',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'X-CSRFToken': this.csrfToken,
          },
          body: this.payload(number),
        });
        const reply = await response.json();
        if (!response.ok) throw new Error(reply.error || String(response.status));
        this.apply(reply);
      } catch (error) {
        if (number >= this.applied) this.showError(error.message);
      } finally {
        if (number === this.sent) delete this.element.dataset.busy;
      }
    }

    apply(reply) {
      // Replies may arrive out of order: only a reply newer than the last applied one counts.
      if (reply.request_number <= this.applied) return;
      this.applied = reply.request_number;
      if (reply.mask) {
        this.showMask(reply.mask, reply.request_number); // replaces the overlay once decoded
      } else {
        this.overlayTarget.src = reply.overlay;
      }
      this.overlayTarget.hidden = false;
      this.warn(reply.coverage);
      this.element.dataset.appliedRequest = String(reply.request_number);
      this.element.dataset.coverage = String(reply.coverage);
      const green = this.dots.filter((d) => d.kind === 'green').length;
      this.statusTarget.textContent = (this.strings.dots || '')
        .replace('%(green)s', green)
        .replace('%(red)s', this.dots.length - green)
        .replace('%(share)s', Math.round(reply.coverage * 100));
    }

    warn(coverage) {
      if (!this.hasWarningTarget) return;
      let text = '';
      if (coverage < this.tinyBelowValue) text = this.strings.warnEmpty;
      else if (coverage > this.fullAboveValue) text = this.strings.warnFull;
      this.warningTarget.textContent = text || '';
      this.warningTarget.hidden = !text;
    }

    showMask(url, number) {
      const mask = new Image();
      mask.onload = () => {
        if (number !== this.applied) return; // a newer reply came meanwhile
        this.mask = mask;
        this.drawOverlay();
        this.drawPreview();
        this.element.dataset.previewRequest = String(number);
      };
      mask.src = url;
    }

    maskPixels(width, height) {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(this.mask, 0, 0, width, height);
      return ctx.getImageData(0, 0, width, height);
    }

    strength() {
      return this.hasStrengthTarget ? Number(this.strengthTarget.value) / 100 : 0.5;
    }

    drawOverlay() {
      if (!this.mask) return;
      const width = this.mask.naturalWidth;
      const height = this.mask.naturalHeight;
      const source = this.maskPixels(width, height).data;
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      const out = ctx.createImageData(width, height);
      const shade = this.strength() * 255;
      const kept = (x, y) => source[(y * width + x) * 4] >= 128;
      for (let y = 0; y < height; y += 1) {
        for (let x = 0; x < width; x += 1) {
          const i = (y * width + x) * 4;
          const inside = kept(x, y);
          // The outline: a kept pixel next to a removed one (or the other way round).
          const edge = (x > 0 && kept(x - 1, y) !== inside)
            || (x < width - 1 && kept(x + 1, y) !== inside)
            || (y > 0 && kept(x, y - 1) !== inside)
            || (y < height - 1 && kept(x, y + 1) !== inside);
          if (edge) {
            out.data.set([255, 214, 0, 255], i); // a bright outline, visible on any photo
          } else if (!inside) {
            out.data.set([15, 20, 40, Math.round(shade * (1 - source[i] / 255))], i);
          }
        }
      }
      ctx.putImageData(out, 0, 0);
      this.overlayTarget.src = canvas.toDataURL('image/png');
      this.overlayTarget.hidden = false;
    }

    drawPreview() {
      if (!this.mask || !this.hasPreviewTarget) return;
      const picture = this.imageTarget;
      const width = this.mask.naturalWidth;
      const height = this.mask.naturalHeight;
      const canvas = this.previewTarget;
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext('2d');
      ctx.clearRect(0, 0, width, height);
      ctx.drawImage(picture, 0, 0, width, height);
      const pixels = ctx.getImageData(0, 0, width, height);
      const mask = this.maskPixels(width, height).data;
      for (let i = 3; i < pixels.data.length; i += 4) pixels.data[i] = mask[i - 3];
      ctx.putImageData(pixels, 0, 0);
      if (this.hasPreviewBoxTarget) this.previewBoxTarget.hidden = false;
      if (this.hasPreviewEmptyTarget) this.previewEmptyTarget.hidden = true;
    }

    restyle() {
      this.drawOverlay();
    }

    showError(message) {
      this.errorTarget.hidden = false;
      this.errorTarget.textContent = `${this.errorLabelValue} ${message}`;
    }

    async save() {
      if (!this.hasSaveTarget) return;
      this.saveTarget.disabled = true;
      try {
        const response = await fetch(this.saveUrlValue, {
          method: 'POST',
          credentials: 'same-origin',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            'X-CSRFToken': this.csrfToken,
          },
          body: this.payload(this.sent),
        });
        const reply = await response.json();
        if (!response.ok) throw new Error(reply.error || String(response.status));
        this.statusTarget.textContent = this.strings.saved;
        window.location.assign(reply.edit_url);
      } catch (error) {
        this.showError(error.message);
        this.saveTarget.disabled = false;
      }
    }
  }

  window.wagtail.app.register('bgcut-aicut', AICutController);
})();
