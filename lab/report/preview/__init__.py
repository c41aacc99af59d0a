"""`labreport preview`: the report in the browser, rendered again on every save.

``renderer`` keeps the analysed runs and figures warm and re-runs the template step;
``live`` watches the student's sources and publishes each render; ``server`` serves the
latest one on 127.0.0.1 with ``static/preview.js``, which draws page boxes from the
geometry ``pages`` reads off the print stylesheet and swaps in each new version.
"""
