"""What the lessons draw: the coloured token view, sequence diagrams and timelines read from the lab, and the
charts of the trade-offs (expiry windows, time to crack a secret, the cost of each way to authenticate)."""
