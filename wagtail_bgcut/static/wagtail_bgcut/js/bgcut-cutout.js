/* "Remove background" page: preview background colour, preset switch, and polling while the
 * cut-out is made by a background worker. Plain JS, registered on Wagtail's Stimulus app. */
(() => {
  const { Controller } = window.StimulusModule;

  class CutoutController extends Controller {
    static targets = ['stage', 'message'];

    static values = {
      statusUrl: String,
      working: Boolean,
      status: String,
      interval: { type: Number, default: 1000 },
    };

    connect() {
      if (this.workingValue) this.schedule();
    }

    disconnect() {
      window.clearTimeout(this.timer);
    }

    schedule() {
      this.timer = window.setTimeout(() => this.poll(), this.intervalValue);
    }

    async poll() {
      try {
        const response = await fetch(this.statusUrlValue, {
          headers: { Accept: 'application/json' },
          credentials: 'same-origin',
        });
        if (!response.ok) throw new Error(String(response.status));
        const state = await response.json();
        if (state.status !== this.statusValue) {
          // Done or failed: reload so the page shows the final state and its actions.
          window.location.reload();
          return;
        }
      } catch (error) {
        // A network hiccup: keep polling, a little more slowly.
        this.intervalValue = Math.min(this.intervalValue * 2, 10000);
      }
      this.schedule();
    }

    colour(event) {
      if (!this.hasStageTarget) return;
      this.stageTarget.classList.add('bgcut-stage--colour');
      this.stageTarget.style.backgroundColor = event.target.value;
    }

    checkerboard() {
      if (!this.hasStageTarget) return;
      this.stageTarget.classList.remove('bgcut-stage--colour');
      this.stageTarget.style.backgroundColor = '';
    }

    choosePreset(event) {
      event.target.form.requestSubmit();
    }
  }

  window.wagtail.app.register('bgcut-cutout', CutoutController);
})();
