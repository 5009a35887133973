"""The book's figures, one module per subject (and so per chapter or two):

=============================  ====================================================================
``kanlab.plot.networks``       chapter 1: network and perceptron diagrams, activations, a neuron
``kanlab.plot.perceptron``     chapter 2: decision lines, Rosenblatt's rule, the voting age
``kanlab.plot.xor``            chapter 3: two lines for XOR, a network with its weights, input and hidden space
``kanlab.plot.mlp``            chapter 4: decision regions, every space of a network with its bent grid, training
``kanlab.plot.approximation``  chapter 5: steps, bumps, N bumps and their error, ReLU hats, error against width
``kanlab.plot.kolmogorov``     chapter 6: hand-built representations as networks, Koeppen's psi and its zoom, Sprecher's squares
``kanlab.plot.kan``            chapters 7-8: B-spline bases, training curves, a KAN with its edges beside an MLP,
                               grid extension and the scaling law, error against size, continual learning
``kanlab.plot.splines``        chapter 7: the spline editor (one coefficient moves the spline locally)
``kanlab.plot.symbolic``       chapter 8: an edge's library fits, their ranking, an edge explorer, MLP weights,
                               a table of discovery runs, extrapolation beyond the samples
``kanlab.plot.tabular``        chapter 9: test errors over seeds against size, an additive KAN's curves over
                               the data, feature rankings side by side, training and test error against grid size
``kanlab.plot.style``          the colours and frames they share; ``crisp_inline_figures`` for a chapter's setup
=============================  ====================================================================

Every function draws on a matplotlib Axes (made for you when ``ax`` is None) and returns it, so a
notebook cell stays one call long. The figures are also importable from ``kanlab.plot`` itself,
e.g. ``kanlab.plot.network_diagram``.
"""

from kanlab.plot.approximation import (bump_approximation_picture, bump_errors_picture, bump_picture, error_against_width,
                                      hat_basis_picture, hat_errors_picture, hat_interpolation_picture,
                                      sigmoid_step_picture)
from kanlab.plot.kan import (continual_learning, error_against_parameters, grid_extension_curves, kan, mlp_versus_kan,
                             scaling_law, spline_basis, training_curves)
from kanlab.plot.kolmogorov import koeppen_levels, psi_zoom_picture, representation_diagram, square_images_picture
from kanlab.plot.mlp import (accuracy_comparison, backprop_graph, decision_regions, loss_curve, space_limits, space_picture,
                             training_frame)
from kanlab.plot.networks import activation_functions, heaviside_plot, network_diagram, neuron_response, perceptron_diagram
from kanlab.plot.style import crisp_inline_figures
from kanlab.plot.symbolic import (candidate_ranking, discovery_table, edge_candidates, edge_explorer, extrapolation,
                                  kans_side_by_side, mlp_weights)
from kanlab.plot.perceptron import decision_line, mistakes_per_epoch, perceptron_picture, rule_steps, rule_updates, voting_picture
from kanlab.plot.tabular import additive_curves, errors_over_seeds, rankings_side_by_side, train_and_test_errors
from kanlab.plot.xor import (corners_in_hidden_space, hidden_unit_lines, morph_limits, morph_picture, network_with_weights,
                             seed_loss_curves, seed_outcomes, two_lines_picture)
